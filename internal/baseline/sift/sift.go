// Package sift is the scale-invariant feature transform (Lowe, IJCV 2004)
// in pure Go: keypoints at the extrema of a difference-of-Gaussians scale
// space, refined to sub-pixel and sub-scale accuracy, rejected for low
// contrast or strong edge response, given one or more dominant gradient
// orientations, and described by 4×4 histograms of 8 gradient
// orientations (128 values) with trilinear interpolation, normalized,
// clipped at 0.2 and renormalized.
//
// It follows OpenCV's implementation (modules/features2d/src/sift.dispatch
// and sift.simd.hpp, OpenCV 4.x) step for step, so that its keypoints can
// be tested against OpenCV's: the same pyramid (the input doubled by
// bilinear interpolation by default, S+3 Gaussian images per octave, the
// next octave taken from image S by dropping every other pixel), the same
// thresholds, the same image-coordinate convention (a keypoint found at
// pixel c of the doubled image is reported at c/2) and the same
// orientation and descriptor geometry. Descriptors are float32 unit
// vectors (OpenCV scales them to 512 and rounds them to bytes).
//
// Package sift is the feature extractor of the bag-of-visual-words
// baseline (package bovw, seed 002 §3.1).
package sift

import (
	"errors"
	"fmt"
	"math"

	"github.com/irgen/irgen/internal/vec"
)

// DescriptorLen is the length of a descriptor: 4×4 cells × 8 orientations.
const DescriptorLen = descrWidth * descrWidth * descrHistBins

// Constants of Lowe's method, with OpenCV's names in comments.
const (
	initSigma      = 0.5 // SIFT_INIT_SIGMA: assumed blur of the input
	imgBorder      = 5   // SIFT_IMG_BORDER: extrema closer to the edge are skipped
	maxInterpSteps = 5   // SIFT_MAX_INTERP_STEPS
	oriHistBins    = 36  // SIFT_ORI_HIST_BINS
	oriSigFactor   = 1.5 // SIFT_ORI_SIG_FCTR
	oriRadius      = 3 * oriSigFactor
	oriPeakRatio   = 0.8 // SIFT_ORI_PEAK_RATIO
	descrWidth     = 4   // SIFT_DESCR_WIDTH
	descrHistBins  = 8   // SIFT_DESCR_HIST_BINS
	descrSclFactor = 3.0 // SIFT_DESCR_SCL_FCTR
	descrMagThr    = 0.2 // SIFT_DESCR_MAG_THR
)

// Limits on the input.
const (
	// MinSize is the smallest image side: smaller images have no pixel
	// far enough from the border to be an extremum.
	MinSize = 2*imgBorder + 1
	// MaxSize bounds each image side.
	MaxSize = 1 << 14
)

// Errors for bad input.
var (
	ErrConfig = errors.New("sift: invalid config")
	ErrImage  = errors.New("sift: invalid image")
)

// Config holds the detector's parameters. The defaults are Lowe's and
// OpenCV's.
type Config struct {
	// OctaveLayers is the number of scales S sampled per octave (3).
	OctaveLayers int `json:"octave_layers"`
	// Sigma is the blur of the first image of each octave (1.6).
	Sigma float64 `json:"sigma"`
	// ContrastThreshold rejects extrema whose interpolated |DoG| is below
	// ContrastThreshold/OctaveLayers, on images with values in [0, 1]
	// (0.04).
	ContrastThreshold float64 `json:"contrast_threshold"`
	// EdgeThreshold rejects extrema whose principal-curvature ratio r
	// reaches it: tr²/det ≥ (r+1)²/r (10).
	EdgeThreshold float64 `json:"edge_threshold"`
	// DoubleImage doubles the input by bilinear interpolation before the
	// pyramid is built, which finds about four times as many keypoints
	// (true, as in Lowe and OpenCV).
	DoubleImage bool `json:"double_image"`
	// Upright skips orientation assignment: every keypoint gets angle 0
	// and one descriptor. For data sets whose images share an upright
	// pose it keeps descriptors that rotation invariance would confuse.
	Upright bool `json:"upright"`
	// MaxKeypoints keeps only the strongest keypoints by response; 0
	// keeps all.
	MaxKeypoints int `json:"max_keypoints"`
}

// DefaultConfig returns S=3, σ=1.6, contrast threshold 0.04, edge
// threshold 10, the doubled input, oriented keypoints and no limit.
func DefaultConfig() Config {
	return Config{OctaveLayers: 3, Sigma: 1.6, ContrastThreshold: 0.04, EdgeThreshold: 10, DoubleImage: true}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.OctaveLayers < 1 || c.OctaveLayers > 16:
		return fmt.Errorf("%w: octave layers %d not in [1, 16]", ErrConfig, c.OctaveLayers)
	case !(c.Sigma > 0 && c.Sigma <= 100):
		return fmt.Errorf("%w: sigma %v not in (0, 100]", ErrConfig, c.Sigma)
	case !(c.ContrastThreshold >= 0 && c.ContrastThreshold < 10):
		return fmt.Errorf("%w: contrast threshold %v not in [0, 10)", ErrConfig, c.ContrastThreshold)
	case !(c.EdgeThreshold > 0 && c.EdgeThreshold < 1e6):
		return fmt.Errorf("%w: edge threshold %v not in (0, 1e6)", ErrConfig, c.EdgeThreshold)
	case c.MaxKeypoints < 0:
		return fmt.Errorf("%w: max keypoints %d is negative", ErrConfig, c.MaxKeypoints)
	}
	return nil
}

// Image is a gray image: W×H values, row-major, nominally in [0, 1].
type Image struct {
	W, H int
	Pix  []float32
}

func (im Image) check() error {
	switch {
	case im.W < MinSize || im.H < MinSize || im.W > MaxSize || im.H > MaxSize:
		return fmt.Errorf("%w: %d×%d, want sides in [%d, %d]", ErrImage, im.W, im.H, MinSize, MaxSize)
	case len(im.Pix) != im.W*im.H:
		return fmt.Errorf("%w: %d values for %d×%d", ErrImage, len(im.Pix), im.W, im.H)
	}
	if i := vec.NonFinite(im.Pix); i >= 0 {
		return fmt.Errorf("%w: pixel %d is %v", ErrImage, i, im.Pix[i])
	}
	return nil
}

// Keypoint is a detected feature, in OpenCV's conventions.
type Keypoint struct {
	// X and Y locate the keypoint in input pixels (pixel centres at
	// integers).
	X, Y float32
	// Size is the diameter of the keypoint's neighbourhood, 2σ in input
	// pixels, where σ is its scale (OpenCV's KeyPoint.size).
	Size float32
	// Angle is the dominant orientation in degrees, in [0, 360), measured
	// as OpenCV does; 0 for upright keypoints.
	Angle float32
	// Response is the absolute interpolated DoG value (contrast).
	Response float32
	// Octave is the pyramid octave it was found in: -1 for the doubled
	// input, 0 for the input's resolution, and so on.
	Octave int

	// Where the descriptor is sampled: Gaussian image (oct, layer) of the
	// pyramid (oct counts from the doubled image when there is one), at
	// (ox, oy) in that octave's pixels, with scale osig there.
	oct, layer int
	ox, oy     float32
	osig       float32
}

// Extractor detects and describes keypoints. It keeps the scale space of
// its last image and scratch buffers; it is not safe for concurrent use,
// so give each goroutine its own.
type Extractor struct {
	cfg Config
	py  pyramid
	// scratch
	hist, temp []float32
	dhist      []float32
	gtab       []float32
	dense      plane // the Gaussian image of Dense
	win        []winSample
}

// New returns an Extractor for cfg.
func New(cfg Config) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Extractor{cfg: cfg}, nil
}

// Config returns the extractor's configuration.
func (x *Extractor) Config() Config { return x.cfg }

// Extract detects the keypoints of img and computes their descriptors:
// desc holds len(kps) rows of DescriptorLen values, each of unit length.
// Keypoints are sorted by position, then size and angle.
func (x *Extractor) Extract(img Image) (kps []Keypoint, desc []float32, err error) {
	if err := img.check(); err != nil {
		return nil, nil, err
	}
	x.py.build(img, x.cfg)
	kps = x.detect()
	desc = make([]float32, len(kps)*DescriptorLen)
	for i := range kps {
		k := &kps[i]
		x.describe(k, &x.py.gauss[k.oct*(x.py.s+3)+k.layer], desc[i*DescriptorLen:(i+1)*DescriptorLen])
	}
	return kps, desc, nil
}

// Dense describes img at the nodes of a regular grid instead of at
// detected keypoints ("dense SIFT"): every step pixels from a margin of
// size/2, with keypoint size size (diameter 2σ, in input pixels) and
// angle 0. The descriptors are sampled from one image blurred to σ at the
// input's resolution (doubled with Config.DoubleImage) rather than from a
// pyramid octave. It suits images too small or too smooth for the
// detector.
func (x *Extractor) Dense(img Image, step int, size float64) ([]Keypoint, []float32, error) {
	if err := img.check(); err != nil {
		return nil, nil, err
	}
	if step < 1 || !(size > 0 && size <= float64(max(img.W, img.H))) {
		return nil, nil, fmt.Errorf("%w: dense step %d, size %v for a %d×%d image", ErrConfig, step, size, img.W, img.H)
	}
	sig := size / 2
	f := x.py.blurTo(img, x.cfg, sig, &x.dense)
	oct := 0
	if x.cfg.DoubleImage {
		oct = -1
	}
	var kps []Keypoint
	m := min(int(math.Ceil(sig)), img.W/2, img.H/2)
	for y := m; y <= img.H-1-m; y += step {
		for xx := m; xx <= img.W-1-m; xx += step {
			kps = append(kps, Keypoint{X: float32(xx), Y: float32(y), Size: float32(size), Octave: oct,
				ox: float32(xx) * f, oy: float32(y) * f, osig: float32(sig) * f})
		}
	}
	desc := make([]float32, len(kps)*DescriptorLen)
	for i := range kps {
		x.describe(&kps[i], &x.dense, desc[i*DescriptorLen:(i+1)*DescriptorLen])
	}
	return kps, desc, nil
}
