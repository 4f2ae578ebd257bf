// Macros shared by the AVX2 kernels of this package.

// ZERO4 clears four Y registers.
#define ZERO4(a, b, c, d) \
	VXORPS a, a, a \
	VXORPS b, b, b \
	VXORPS c, c, c \
	VXORPS d, d, d

// SUM4 adds the eight lanes of the four accumulators Y0-Y3 into the low
// lane of X0 (Y1 and Y3 first, then across lanes), using X1 as scratch:
// every kernel that reduces four accumulators sums in this one order.
#define SUM4 \
	VADDPS       Y1, Y0, Y0 \
	VADDPS       Y3, Y2, Y2 \
	VADDPS       Y2, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVHLPS     X0, X0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVSHDUP    X0, X1     \
	VADDSS       X1, X0, X0
