// Thread ring (Benchmarks Game rules): 503 goroutines in a ring pass a token that starts
// at 5,000,000 and drops by one per hop; the one that receives 0 prints its id (1..503).
package main

import "fmt"

const members = 503
const hops = 5000000

func member(id int, inbox <-chan int, next chan<- int, done chan<- int) {
	for token := range inbox {
		if token == 0 {
			done <- id
			return
		}
		next <- token - 1
	}
}

func main() {
	ring := make([]chan int, members)
	for i := range ring {
		ring[i] = make(chan int)
	}
	done := make(chan int)
	for i := 0; i < members; i++ {
		go member(i+1, ring[i], ring[(i+1)%members], done)
	}
	ring[0] <- hops
	winner := <-done
	for _, inbox := range ring {
		close(inbox)
	}
	fmt.Println(winner)
}
