// The load generator of the `echo` workload, the same for every echo server: opens
// CONNS connections to ADDR at once, and on each writes SIZE bytes and reads them back
// ROUNDS times, checking every byte. Prints what it exchanged on stdout (bench/run
// compares it with bench/expected/echo.out) and round trips per second on stderr; exits
// 1 at the first connection that fails or gets a wrong byte back.
//
// Usage: loadgen ADDR CONNS ROUNDS SIZE     e.g. loadgen 127.0.0.1:4000 1000 1000 64
// Only the standard library: it builds with `go build`, without a module download.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

func number(text string) int {
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %q is not a positive number\n", text)
		os.Exit(2)
	}
	return n
}

// client runs one connection's round trips; the message changes every round, so a
// server that answered with an older message is caught.
func client(addr string, id, rounds, size int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	msg := make([]byte, size)
	got := make([]byte, size)
	for round := 0; round < rounds; round++ {
		for i := range msg {
			msg[i] = byte('a' + (id+round+i)%26)
		}
		if _, err := conn.Write(msg); err != nil {
			return fmt.Errorf("connection %d, round %d: write: %v", id, round, err)
		}
		if _, err := io.ReadFull(conn, got); err != nil {
			return fmt.Errorf("connection %d, round %d: read: %v", id, round, err)
		}
		if !bytes.Equal(msg, got) {
			return fmt.Errorf("connection %d, round %d: got %q back, sent %q", id, round, got, msg)
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: loadgen ADDR CONNS ROUNDS SIZE")
		os.Exit(2)
	}
	addr := os.Args[1]
	conns, rounds, size := number(os.Args[2]), number(os.Args[3]), number(os.Args[4])

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for id := 0; id < conns; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			if err := client(addr, id, rounds, size); err != nil {
				errs <- err
			}
		}(id)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	failed := 0
	for err := range errs {
		if failed == 0 {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		failed++
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %d of %d connections failed\n", failed, conns)
		os.Exit(1)
	}
	trips := conns * rounds
	fmt.Printf("connections %d\nround trips %d\nbytes echoed %d\n", conns, trips, trips*size)
	fmt.Fprintf(os.Stderr, "loadgen: %d round trips in %.3f s: %.0f per second\n",
		trips, elapsed.Seconds(), float64(trips)/elapsed.Seconds())
}
