package sift

import (
	"bufio"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The reference keypoints and descriptors come from OpenCV 4.6's SIFT on
// two photos of Debian's opencv-doc sample data; testdata/gen_ref.py made
// them.

func loadGray(t testing.TB, name string) Image {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := m.(*image.Gray)
	if !ok {
		t.Fatalf("%s: %T, want *image.Gray", name, m)
	}
	return fromGray(g)
}

func fromGray(g *image.Gray) Image {
	b := g.Bounds()
	im := Image{W: b.Dx(), H: b.Dy(), Pix: make([]float32, b.Dx()*b.Dy())}
	for y := range im.H {
		for x := range im.W {
			im.Pix[y*im.W+x] = float32(g.GrayAt(b.Min.X+x, b.Min.Y+y).Y) / 255
		}
	}
	return im
}

// readFloats reads a text file of whitespace-separated numbers, one row a
// line.
func readFloats(t testing.TB, name string) [][]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var row []float64
		for _, s := range strings.Fields(sc.Text()) {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func refKeypoints(t testing.TB, name string) []Keypoint {
	var kps []Keypoint
	for _, r := range readFloats(t, name+".kp.txt") {
		kps = append(kps, Keypoint{X: float32(r[0]), Y: float32(r[1]), Size: float32(r[2]),
			Angle: float32(r[3]), Response: float32(r[4]), Octave: int(r[5])})
	}
	return kps
}

func extract(t testing.TB, cfg Config, img Image) ([]Keypoint, []float32) {
	t.Helper()
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kps, desc, err := x.Extract(img)
	if err != nil {
		t.Fatal(err)
	}
	return kps, desc
}

// near reports whether a and b lie within dist pixels of each other with
// sizes within a ratio of 1.25.
func near(a, b Keypoint, dist float64) bool {
	dx, dy := float64(a.X-b.X), float64(a.Y-b.Y)
	r := float64(a.Size / b.Size)
	return dx*dx+dy*dy <= dist*dist && r < 1.25 && r > 1/1.25
}

func angleDiff(a, b float32) float64 {
	d := math.Mod(math.Abs(float64(a-b)), 360)
	return min(d, 360-d)
}

// coverage returns the fraction of ref keypoints that have a keypoint of
// got near them, and the fraction of those whose orientation is also
// found within 5°.
func coverage(ref, got []Keypoint, dist float64) (pos, ori float64) {
	var np, no int
	for _, r := range ref {
		found, angle := false, false
		for _, g := range got {
			if near(r, g, dist) {
				found = true
				angle = angle || angleDiff(r.Angle, g.Angle) < 5
			}
		}
		if found {
			np++
		}
		if angle {
			no++
		}
	}
	return float64(np) / float64(len(ref)), float64(no) / float64(max(np, 1))
}

func TestKeypointsMatchOpenCV(t *testing.T) {
	for _, name := range []string{"box", "box_in_scene"} {
		t.Run(name, func(t *testing.T) {
			ref := refKeypoints(t, name)
			got, _ := extract(t, DefaultConfig(), loadGray(t, name+".png"))
			recall, ori := coverage(ref, got, 1.5)
			precision, _ := coverage(got, ref, 1.5)
			t.Logf("OpenCV %d keypoints, ours %d: recall %.3f, precision %.3f, orientation agreement %.3f",
				len(ref), len(got), recall, precision, ori)
			if recall < 0.9 {
				t.Errorf("%.3f of OpenCV's keypoints found within 1.5 px at similar scale, want ≥ 0.9", recall)
			}
			if precision < 0.9 {
				t.Errorf("%.3f of our keypoints are OpenCV's, want ≥ 0.9", precision)
			}
			if ori < 0.9 {
				t.Errorf("%.3f of the found keypoints have OpenCV's orientation within 5°, want ≥ 0.9", ori)
			}
		})
	}
}

// TestKeypointsExact checks that our keypoints are OpenCV's to float
// rounding, one for one in OpenCV's order.
func TestKeypointsExact(t *testing.T) {
	for _, name := range []string{"box", "box_in_scene"} {
		t.Run(name, func(t *testing.T) {
			ref := refKeypoints(t, name)
			got, _ := extract(t, DefaultConfig(), loadGray(t, name+".png"))
			if len(got) != len(ref) {
				t.Fatalf("got %d keypoints, want %d", len(got), len(ref))
			}
			var maxPos, maxSize, maxAngle float64
			bad := 0
			for i, r := range ref {
				g := got[i]
				dp := math.Hypot(float64(g.X-r.X), float64(g.Y-r.Y))
				ds := math.Abs(float64(g.Size-r.Size)) / float64(r.Size)
				da := angleDiff(g.Angle, r.Angle)
				maxPos, maxSize, maxAngle = max(maxPos, dp), max(maxSize, ds), max(maxAngle, da)
				if dp > 0.01 || ds > 1e-3 || da > 0.1 || g.Octave != r.Octave {
					bad++
					if bad <= 5 {
						t.Errorf("keypoint %d: got %+v, want %+v", i, g, r)
					}
				}
			}
			t.Logf("max differences: position %.2g px, size %.2g (relative), angle %.2g°", maxPos, maxSize, maxAngle)
		})
	}
}

// cosine returns the cosine similarity of a and b.
func cosine(a []float32, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * b[i]
		aa += float64(a[i]) * float64(a[i])
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

func TestDescriptorsMatchOpenCV(t *testing.T) {
	for _, name := range []string{"box", "box_in_scene"} {
		t.Run(name, func(t *testing.T) {
			ref := refKeypoints(t, name)
			want := readFloats(t, name+".desc.txt")
			got, desc := extract(t, DefaultConfig(), loadGray(t, name+".png"))
			worst := 1.0
			for i, w := range want {
				// the keypoint of ours closest to OpenCV's i-th
				best, bd := -1, math.Inf(1)
				for j, g := range got {
					if d := math.Hypot(float64(g.X-ref[i].X), float64(g.Y-ref[i].Y)) + angleDiff(g.Angle, ref[i].Angle); d < bd {
						best, bd = j, d
					}
				}
				d := desc[best*DescriptorLen : (best+1)*DescriptorLen]
				c := cosine(d, w)
				worst = min(worst, c)
				if c < 0.99 {
					t.Errorf("descriptor %d: cosine similarity %.4f to OpenCV's, want ≥ 0.99", i, c)
				}
				var n float64
				for _, v := range d {
					n += float64(v) * float64(v)
					if v < 0 {
						t.Fatalf("descriptor %d has negative value %v", i, v)
					}
				}
				if math.Abs(n-1) > 1e-4 {
					t.Errorf("descriptor %d has squared norm %v, want 1", i, n)
				}
			}
			t.Logf("%d descriptors, lowest cosine similarity to OpenCV's %.5f", len(want), worst)
		})
	}
}

// match returns, for each row of a, the index of its nearest row in b if
// it passes Lowe's ratio test (nearest < ratio × second nearest), else -1.
func match(a, b []float32, ratio float64) []int {
	n := len(a) / DescriptorLen
	out := make([]int, n)
	for i := range n {
		q := a[i*DescriptorLen : (i+1)*DescriptorLen]
		b1, b2, bi := math.Inf(1), math.Inf(1), -1
		for j := range len(b) / DescriptorLen {
			var d float64
			for k, v := range b[j*DescriptorLen : (j+1)*DescriptorLen] {
				e := float64(v - q[k])
				d += e * e
			}
			if d < b1 {
				b1, b2, bi = d, b1, j
			} else if d < b2 {
				b2 = d
			}
		}
		out[i] = -1
		if math.Sqrt(b1) < ratio*math.Sqrt(b2) {
			out[i] = bi
		}
	}
	return out
}

// consistent counts the matches whose keypoint maps under f to within tol
// pixels of its match.
func consistent(ka, kb []Keypoint, m []int, f func(x, y float64) (float64, float64), tol float64) (good, total int) {
	for i, j := range m {
		if j < 0 {
			continue
		}
		total++
		x, y := f(float64(ka[i].X), float64(ka[i].Y))
		if math.Hypot(x-float64(kb[j].X), y-float64(kb[j].Y)) <= tol {
			good++
		}
	}
	return good, total
}

// TestHomographyMatches matches box.png into box_in_scene.png and checks
// the matches against the homography OpenCV's RANSAC found.
func TestHomographyMatches(t *testing.T) {
	h := readFloats(t, "box_homography.txt")[0]
	ka, da := extract(t, DefaultConfig(), loadGray(t, "box.png"))
	kb, db := extract(t, DefaultConfig(), loadGray(t, "box_in_scene.png"))
	m := match(da, db, 0.75)
	good, total := consistent(ka, kb, m, func(x, y float64) (float64, float64) {
		w := h[6]*x + h[7]*y + h[8]
		return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
	}, 3)
	t.Logf("%d ratio-test matches, %d consistent with the homography", total, good)
	if total < 30 || float64(good) < 0.8*float64(total) {
		t.Errorf("%d of %d matches consistent with the homography, want ≥ 80%% of ≥ 30", good, total)
	}
}

// warp returns img rotated by theta radians (y down, so clockwise on
// screen) and scaled by s about its centre, on a canvas of size w×h
// filled with 0.5, by bilinear interpolation, and the map from img's
// coordinates to the canvas's.
func warp(img Image, theta, s float64, w, h int) (Image, func(x, y float64) (float64, float64)) {
	cx, cy := float64(img.W-1)/2, float64(img.H-1)/2
	ox, oy := float64(w-1)/2, float64(h-1)/2
	cos, sin := math.Cos(theta), math.Sin(theta)
	fwd := func(x, y float64) (float64, float64) {
		x, y = x-cx, y-cy
		return s*(cos*x-sin*y) + ox, s*(sin*x+cos*y) + oy
	}
	out := Image{W: w, H: h, Pix: make([]float32, w*h)}
	for v := range h {
		for u := range w {
			// inverse map
			x, y := (float64(u)-ox)/s, (float64(v)-oy)/s
			x, y = cos*x+sin*y+cx, -sin*x+cos*y+cy
			x0, y0 := int(math.Floor(x)), int(math.Floor(y))
			if x0 < 0 || y0 < 0 || x0+1 >= img.W || y0+1 >= img.H {
				out.Pix[v*w+u] = 0.5
				continue
			}
			fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
			p := img.Pix[y0*img.W+x0:]
			q := img.Pix[(y0+1)*img.W+x0:]
			out.Pix[v*w+u] = (p[0]*(1-fx)+p[1]*fx)*(1-fy) + (q[0]*(1-fx)+q[1]*fx)*fy
		}
	}
	return out, fwd
}

// TestInvariance checks rotation and scale invariance on synthetic
// transforms of box.png: most keypoints are found again at the mapped
// position and scale, with the orientation turned by the rotation, and
// descriptor matches follow the transform.
func TestInvariance(t *testing.T) {
	img := loadGray(t, "box.png")
	ka, da := extract(t, DefaultConfig(), img)
	for _, tc := range []struct {
		name        string
		deg, s      float64
		repeat, agr float64 // minimum repeatability and match agreement
	}{
		{"rot90", 90, 1, 0.7, 0.9},
		{"rot30", 30, 1, 0.6, 0.9},
		{"scale0.6", 0, 0.6, 0.5, 0.8},
		{"rot-45,scale1.5", -45, 1.5, 0.6, 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := tc.deg * math.Pi / 180
			wimg, fwd := warp(img, th, tc.s, 400, 400)
			kb, db := extract(t, DefaultConfig(), wimg)
			// repeatability
			var found, inside, turned int
			for _, a := range ka {
				x, y := fwd(float64(a.X), float64(a.Y))
				r := float64(a.Size) * tc.s
				// Keypoints that land near the canvas border or shrink
				// to the finest scales the doubled image resolves are
				// not expected back.
				if x < r || y < r || x > 399-r || y > 399-r || r < 4 {
					continue
				}
				inside++
				want := Keypoint{X: float32(x), Y: float32(y), Size: float32(r)}
				ok, angle := false, false
				for _, b := range kb {
					if near(want, b, max(1.5, 1.5*tc.s)) {
						ok = true
						angle = angle || angleDiff(b.Angle-a.Angle, float32(tc.deg)) < 10
					}
				}
				if ok {
					found++
				}
				if angle {
					turned++
				}
			}
			rep := float64(found) / float64(inside)
			rot := float64(turned) / float64(max(found, 1))
			good, total := consistent(ka, kb, match(da, db, 0.75), fwd, 3*max(1, tc.s))
			agr := float64(good) / float64(max(total, 1))
			t.Logf("repeatability %.3f (%d of %d), orientation turned by %g° in %.3f, %d of %d matches consistent (%.3f)",
				rep, found, inside, tc.deg, rot, good, total, agr)
			if rep < tc.repeat {
				t.Errorf("repeatability %.3f, want ≥ %.2f", rep, tc.repeat)
			}
			if rot < 0.8 {
				t.Errorf("%.3f of repeated keypoints turned by %g°, want ≥ 0.8", rot, tc.deg)
			}
			if total < 30 || agr < tc.agr {
				t.Errorf("%d of %d matches consistent, want ≥ %.2f of ≥ 30", good, total, tc.agr)
			}
		})
	}
}
