// The Go column of gmploop's core benchmarks (benchmarks/bench_core.py).
//
// The same workloads as the Python systems, written the way a Go programmer
// would. bench_core.py builds this file once (`go build -o core core.go`) and
// runs it with GOMAXPROCS=1, one fresh process per cell:
//
//	core <workload> <reps> key=value...
//
//	core fanout 5 n=100000
//	core pingpong 5 n=100000
//	core contended 5 p=100 m=1000
//	core skynet 1 size=1000000
//	core memory 1 kind=parked n=100000
//
// It prints one line, `RESULT {"values": [...], "checks": [...]}`: values are
// seconds per repetition (memory: RSS bytes per goroutine), checks are what
// bench_core.expected() must equal.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func fanout(p map[string]string) (float64, int64) {
	n := atoi(p, "n")
	t0 := time.Now()
	ch := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() { ch <- 1 }()
	}
	var s int64
	for i := 0; i < n; i++ {
		s += int64(<-ch)
	}
	return time.Since(t0).Seconds(), s
}

func pingpong(p map[string]string) (float64, int64) {
	n := atoi(p, "n")
	a, b := make(chan int, 1), make(chan int, 1)
	go func() {
		for i := 0; i < n; i++ {
			b <- <-a
		}
	}()
	var s int64
	t0 := time.Now()
	for i := 0; i < n; i++ {
		a <- i
		s += int64(<-b)
	}
	return time.Since(t0).Seconds(), s
}

func contended(p map[string]string) (float64, int64) {
	np, m := atoi(p, "p"), atoi(p, "m")
	ch := make(chan int, 64)
	t0 := time.Now()
	for j := 0; j < np; j++ {
		go func() {
			for i := 0; i < m; i++ {
				ch <- i
			}
		}()
	}
	var s int64
	for i := 0; i < np*m; i++ {
		s += int64(<-ch)
	}
	return time.Since(t0).Seconds(), s
}

// skynet is the classic program (github.com/atemerev/skynet).
func skynetNode(c chan int64, num, size, div int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	var sum int64
	for i := int64(0); i < div; i++ {
		sub := size / div
		go skynetNode(rc, num+i*sub, sub, div)
	}
	for i := int64(0); i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynet(p map[string]string) (float64, int64) {
	size := int64(atoi(p, "size"))
	t0 := time.Now()
	c := make(chan int64)
	go skynetNode(c, 0, size, 10)
	s := <-c
	return time.Since(t0).Seconds(), s
}

func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				panic(err)
			}
			return kb * 1024
		}
	}
	panic("VmRSS not found")
}

func memory(p map[string]string) (float64, int64) {
	n := atoi(p, "n")
	ch, ready := make(chan int), make(chan int, n)
	parked := func() {
		ready <- 1
		<-ch
	}
	runtime.GC()
	base := rss()
	if p["kind"] == "unstarted" {
		for i := 0; i < n; i++ {
			go parked()
		}
		after := rss()
		return float64(after-base) / float64(n), int64(runtime.NumGoroutine() - 1)
	}
	for i := 0; i < n; i++ {
		go parked()
	}
	var got int64
	for i := 0; i < n; i++ {
		got += int64(<-ready)
	}
	time.Sleep(50 * time.Millisecond)
	after := rss()
	return float64(after-base) / float64(n), got
}

func atoi(p map[string]string, k string) int {
	v, err := strconv.Atoi(p[k])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bad or missing %s=%q\n", k, p[k])
		os.Exit(2)
	}
	return v
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: core <workload> <reps> key=value...")
		os.Exit(2)
	}
	work := map[string]func(map[string]string) (float64, int64){
		"fanout": fanout, "pingpong": pingpong, "contended": contended,
		"skynet": skynet, "memory": memory,
	}[os.Args[1]]
	if work == nil {
		fmt.Fprintf(os.Stderr, "unknown workload %q\n", os.Args[1])
		os.Exit(2)
	}
	reps, err := strconv.Atoi(os.Args[2])
	if err != nil || reps < 1 {
		fmt.Fprintln(os.Stderr, "reps must be a positive integer")
		os.Exit(2)
	}
	params := map[string]string{}
	for _, kv := range os.Args[3:] {
		if i := strings.IndexByte(kv, '='); i > 0 {
			params[kv[:i]] = kv[i+1:]
		}
	}
	out := struct {
		Values []float64 `json:"values"`
		Checks []int64   `json:"checks"`
	}{}
	for r := 0; r < reps; r++ {
		runtime.GC()
		v, c := work(params)
		out.Values = append(out.Values, v)
		out.Checks = append(out.Checks, c)
	}
	b, _ := json.Marshal(out)
	fmt.Printf("RESULT %s\n", b)
}
