package semid

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var parseTests = []struct {
	in      string
	want    ID
	wantErr error
}{
	{"12-200-3-7", ID{12, 200, 3, 7}, nil},
	{"0", ID{0}, nil},
	{"0-0-0-0", ID{0, 0, 0, 0}, nil},
	{"2147483647", ID{1<<31 - 1}, nil},
	{"65535-1", ID{65535, 1}, nil},
	{"", nil, ErrSyntax},
	{"-", nil, ErrSyntax},
	{"1-", nil, ErrSyntax},
	{"-1", nil, ErrSyntax},
	{"1--2", nil, ErrSyntax},
	{"01", nil, ErrSyntax},
	{"+1", nil, ErrSyntax},
	{"1-a", nil, ErrSyntax},
	{" 1", nil, ErrSyntax},
	{"1.5", nil, ErrSyntax},
	{"2147483648", nil, ErrRange},
	{"99999999999999999999", nil, ErrRange},
	{"0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-" +
		"0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0", nil, ErrRange},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v; want %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if err == nil {
				if s := got.String(); s != tt.in {
					t.Errorf("Parse(%q).String() = %q; want %q", tt.in, s, tt.in)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) {
				t.Fatalf("Parse(%q) error %v is neither ErrSyntax nor ErrRange", s, err)
			}
			return
		}
		if got := id.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		if len(id) == 0 || len(id) > MaxLen {
			t.Fatalf("Parse(%q) has %d tokens", s, len(id))
		}
		k1, exact := id.Key()
		k2, _ := id.Clone().Key()
		if k1 != k2 {
			t.Fatalf("Key of %v not stable: %x vs %x", id, k1, k2)
		}
		if exact {
			back, err := FromKey(k1, len(id))
			if err != nil || !back.Equal(id) {
				t.Fatalf("FromKey(Key(%v)) = %v, %v", id, back, err)
			}
		}
	})
}

func TestString(t *testing.T) {
	tests := []struct {
		id   ID
		want string
	}{
		{nil, ""},
		{ID{}, ""},
		{ID{5}, "5"},
		{ID{12, 200, 3, 7}, "12-200-3-7"},
		{ID{-1, 2}, "-1-2"}, // not valid, but printable; Parse rejects it
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.want {
			t.Errorf("%#v.String() = %q; want %q", tt.id, got, tt.want)
		}
	}
}

func TestEqualCompare(t *testing.T) {
	tests := []struct {
		a, b ID
		cmp  int
	}{
		{nil, nil, 0},
		{nil, ID{}, 0},
		{ID{1, 2}, ID{1, 2}, 0},
		{ID{1, 2}, ID{1, 3}, -1},
		{ID{2}, ID{1, 3}, 1},
		{ID{1}, ID{1, 0}, -1},
		{ID{1, 0}, ID{1}, 1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.cmp {
			t.Errorf("%v.Compare(%v) = %d; want %d", tt.a, tt.b, got, tt.cmp)
		}
		if got, want := tt.a.Equal(tt.b), tt.cmp == 0; got != want {
			t.Errorf("%v.Equal(%v) = %v; want %v", tt.a, tt.b, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		id   ID
		m, l int
		ok   bool
	}{
		{ID{0, 255, 3, 7}, 4, 256, true},
		{ID{0, 256, 3, 7}, 4, 256, false},
		{ID{0, -1, 3, 7}, 4, 256, false},
		{ID{0, 1, 3}, 4, 256, false},
		{nil, 0, 256, true},
	}
	for _, tt := range tests {
		err := tt.id.Validate(tt.m, tt.l)
		if (err == nil) != tt.ok {
			t.Errorf("%v.Validate(%d, %d) = %v; want ok=%v", tt.id, tt.m, tt.l, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrRange) {
			t.Errorf("%v.Validate error %v is not ErrRange", tt.id, err)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		id    ID
		want  uint64
		exact bool
	}{
		{ID{}, 0, true},
		{ID{1}, 1, true},
		{ID{12, 200, 3, 7}, 12<<24 | 200<<16 | 3<<8 | 7, true},
		{ID{255, 255, 255, 255, 255, 255, 255, 255}, 1<<64 - 1, true},
		{ID{256}, 0, false},
		{ID{-1}, 0, false},
		{ID{0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, false},
	}
	for _, tt := range tests {
		got, exact := tt.id.Key()
		if exact != tt.exact {
			t.Errorf("%v.Key() exact = %v; want %v", tt.id, exact, tt.exact)
			continue
		}
		if exact && got != tt.want {
			t.Errorf("%v.Key() = %#x; want %#x", tt.id, got, tt.want)
		}
		if exact {
			back, err := FromKey(got, len(tt.id))
			if err != nil {
				t.Fatal(err)
			}
			if !back.Equal(tt.id) {
				t.Errorf("FromKey(%#x, %d) = %v; want %v", got, len(tt.id), back, tt.id)
			}
		}
	}
	// Hash fallback: equal IDs, equal keys; a change in any token changes it.
	a := ID{1000, 2, 3}
	ka, _ := a.Key()
	if kb, _ := a.Clone().Key(); kb != ka {
		t.Errorf("hash keys of equal IDs differ: %#x vs %#x", ka, kb)
	}
	if kc, _ := (ID{1000, 2, 4}).Key(); kc == ka {
		t.Errorf("hash keys of %v and %v collide", a, ID{1000, 2, 4})
	}
	if _, err := FromKey(0, 9); !errors.Is(err, ErrRange) {
		t.Errorf("FromKey(0, 9) error = %v; want ErrRange", err)
	}
}

func TestKeyAllocs(t *testing.T) {
	ids := []ID{{1, 2, 3, 4}, {1000, 2}}
	for _, id := range ids {
		if n := testing.AllocsPerRun(100, func() { id.Key() }); n != 0 {
			t.Errorf("%v.Key() allocs = %v; want 0", id, n)
		}
	}
}
