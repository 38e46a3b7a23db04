// Ping-pong: two goroutines, 1,000,000 round trips over two unbuffered channels.
package main

import "fmt"

func main() {
	const rounds = 1000000
	ping := make(chan int)
	pong := make(chan int)
	echoed := make(chan struct{})
	go func() {
		for v := range ping {
			pong <- v
		}
		close(echoed)
	}()
	count := 0
	for i := 0; i < rounds; i++ {
		ping <- i
		<-pong
		count++
	}
	close(ping)
	<-echoed
	fmt.Println(count)
}
