// Parallel: 8 goroutines each compute naive fib(32); the results are summed.
package main

import "fmt"

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

func main() {
	results := make(chan int)
	for i := 0; i < 8; i++ {
		go func() { results <- fib(32) }()
	}
	total := 0
	for i := 0; i < 8; i++ {
		total += <-results
	}
	fmt.Println(total)
}
