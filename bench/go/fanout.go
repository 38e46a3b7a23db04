// Fan-out: a producer sends 1..1,000,000 into a channel of capacity 128, 4 workers square
// them into a results channel (capacity 128), and main sums the squares.
package main

import "fmt"

const items = 1000000

func main() {
	jobs := make(chan int, 128)
	results := make(chan int, 128)
	go func() {
		for i := 1; i <= items; i++ {
			jobs <- i
		}
		close(jobs)
	}()
	for w := 0; w < 4; w++ {
		go func() {
			for v := range jobs {
				results <- v * v
			}
		}()
	}
	total := 0
	for i := 0; i < items; i++ {
		total += <-results
	}
	fmt.Println(total)
}
