// Parked tasks: `count` goroutines each report ready, then block receiving on their own
// channel; once all are parked, main releases each and joins them all. `parked0` is the
// same program with count = 0: the peak-RSS difference is the cost of the parked ones.
package main

import "fmt"

const count = 0

func main() {
	ready := make(chan struct{})
	finished := make(chan int)
	gates := make([]chan int, count)
	for i := range gates {
		gate := make(chan int)
		gates[i] = gate
		go func() {
			ready <- struct{}{}
			finished <- <-gate
		}()
	}
	for i := 0; i < count; i++ {
		<-ready
	}
	for _, gate := range gates {
		gate <- 1
	}
	joined := 0
	for i := 0; i < count; i++ {
		joined += <-finished
	}
	fmt.Println(joined)
}
