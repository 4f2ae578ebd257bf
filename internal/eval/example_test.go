package eval_test

import (
	"fmt"
	"os"

	"github.com/irgen/irgen/internal/eval"
)

func Example() {
	acc, err := eval.New([]int{1, 3}, 3)
	if err != nil {
		panic(err)
	}
	acc.Method = "exact"
	// Labels of the retrieved items, best first; the query's label; how many
	// gallery items share it.
	acc.Add([]int{7, 2, 7}, 7, 2)
	acc.Add([]int{1, 4, 4}, 4, 5)
	r := acc.Result()
	fmt.Printf("P@1=%.2f R@3=%.2f MAP@3=%.3f\n", r.Precision[1], r.Recall[3], r.MAP[3])
	if err := eval.Markdown(os.Stdout, []eval.Result{r}); err != nil {
		panic(err)
	}
	// q1: P@3 = 2/3, AP@3 = (1/1 + 2/3) / min(3, 2) = 0.8333.
	// q2: P@3 = 2/3, AP@3 = (1/2 + 2/3) / min(3, 5) = 0.3889.
	// Output:
	// P@1=0.50 R@3=1.00 MAP@3=0.611
	// | method | queries | P@1 | P@3 | R@1 | R@3 | MAP@3 | ms/query | encode | search |
	// | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
	// | exact | 2 | 0.5000 | 0.6667 | 0.5000 | 1.0000 | 0.6111 | 0.000 | 0.000 | 0.000 |
}
