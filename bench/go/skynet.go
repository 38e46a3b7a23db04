// Skynet: every goroutine spawns 10 children down to 1,000,000 leaves (1,111,111
// goroutines in all); leaf i sends i, parents sum their children over a channel.
package main

import "fmt"

func skynet(out chan<- int, num, size int) {
	if size == 1 {
		out <- num
		return
	}
	results := make(chan int)
	child := size / 10
	for i := 0; i < 10; i++ {
		go skynet(results, num+i*child, child)
	}
	sum := 0
	for i := 0; i < 10; i++ {
		sum += <-results
	}
	out <- sum
}

func main() {
	out := make(chan int)
	go skynet(out, 0, 1000000)
	fmt.Println(<-out)
}
