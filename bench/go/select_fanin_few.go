// Select fan-in: 10 goroutines each loop in a select over one shared output channel (a
// send case) and a shared quit channel (a receive case); main receives 1,000,000 values
// from the output, then closes quit. Each value completes one goroutine's select on the
// output, which must leave the quit channel's queue of 10 waiters: the cost per value
// should not depend on how many goroutines wait (compare select_fanin and select_fanin_few).
package main

import (
	"fmt"
	"sync"
)

const senders = 10
const values = 1000000

func main() {
	out := make(chan int)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case out <- 1:
				case <-quit:
					return
				}
			}
		}()
	}
	total := 0
	for i := 0; i < values; i++ {
		total += <-out
	}
	close(quit)
	wg.Wait()
	fmt.Println(total)
}
