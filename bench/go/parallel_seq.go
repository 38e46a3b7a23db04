// Parallel, sequential baseline: the same 8 calls of naive fib(32), in one goroutine.
package main

import "fmt"

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

func main() {
	total := 0
	for i := 0; i < 8; i++ {
		total += fib(32)
	}
	fmt.Println(total)
}
