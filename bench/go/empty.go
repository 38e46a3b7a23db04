// Start-up cost: an empty program.
package main

func main() {}
