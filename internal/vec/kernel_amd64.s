//go:build amd64 && !purego

#include "textflag.h"

// func dotAVX2(x, y []float32) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ        CX, $32
	JLT         dot8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ        CX, $8
	JLT         dotreduce
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotreduce:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0

dot1:
	TESTQ       CX, CX
	JE          dotdone
	VMOVSS      (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         dot1

dotdone:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func squaredL2AVX2(x, y []float32) float32
TEXT ·squaredL2AVX2(SB), NOSPLIT, $0-52
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

l2x32:
	CMPQ        CX, $32
	JLT         l2x8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VSUBPS      (DI), Y4, Y4
	VSUBPS      32(DI), Y5, Y5
	VSUBPS      64(DI), Y6, Y6
	VSUBPS      96(DI), Y7, Y7
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	VFMADD231PS Y6, Y6, Y2
	VFMADD231PS Y7, Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         l2x32

l2x8:
	CMPQ        CX, $8
	JLT         l2reduce
	VMOVUPS     (SI), Y4
	VSUBPS      (DI), Y4, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         l2x8

l2reduce:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0

l2x1:
	TESTQ       CX, CX
	JE          l2done
	VMOVSS      (SI), X1
	VSUBSS      (DI), X1, X1
	VFMADD231SS X1, X1, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         l2x1

l2done:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func dot4AVX2(q, rows []float32, stride int, out *[4]float32)
//
// out[r] = Σ_i q[i]·rows[r*stride+i] for r = 0..3 and i < len(q); len(q)
// is a multiple of 8. Each 8-lane chunk of q is loaded once for the four
// rows, and two accumulators per row keep eight FMA chains in flight.
TEXT ·dot4AVX2(SB), NOSPLIT, $0-64
	MOVQ   q_base+0(FP), SI
	MOVQ   q_len+8(FP), CX
	MOVQ   rows_base+24(FP), DI
	MOVQ   stride+48(FP), AX
	MOVQ   out+56(FP), DX
	LEAQ   (DI)(AX*4), R8
	LEAQ   (R8)(AX*4), R9
	LEAQ   (R9)(AX*4), R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

d4x16:
	CMPQ        CX, $16
	JLT         d4x8
	VMOVUPS     (SI), Y8
	VMOVUPS     32(SI), Y9
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y9, Y1
	VFMADD231PS (R8), Y8, Y2
	VFMADD231PS 32(R8), Y9, Y3
	VFMADD231PS (R9), Y8, Y4
	VFMADD231PS 32(R9), Y9, Y5
	VFMADD231PS (R10), Y8, Y6
	VFMADD231PS 32(R10), Y9, Y7
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, R8
	ADDQ        $64, R9
	ADDQ        $64, R10
	SUBQ        $16, CX
	JMP         d4x16

d4x8:
	CMPQ        CX, $8
	JLT         d4reduce
	VMOVUPS     (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS (R8), Y8, Y2
	VFMADD231PS (R9), Y8, Y4
	VFMADD231PS (R10), Y8, Y6

d4reduce:
	// Rows a, b, c, d in Y0, Y2, Y4, Y6; two horizontal adds leave
	// [a b c d] partial sums in each 128-bit lane.
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y5, Y4, Y4
	VADDPS       Y7, Y6, Y6
	VHADDPS      Y2, Y0, Y0
	VHADDPS      Y6, Y4, Y4
	VHADDPS      Y4, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DX)
	VZEROUPPER
	RET

// func dot3x4AVX2(q []float32, qstride int, rows []float32, rstride int, out []float32, ostride int)
//
// Y(3r+j) accumulates query j against row r; each step loads the three
// query chunks once and each row chunk once for 12 FMAs.
TEXT ·dot3x4AVX2(SB), NOSPLIT, $0-96
	MOVQ q_base+0(FP), SI
	MOVQ q_len+8(FP), CX
	MOVQ qstride+24(FP), R8
	MOVQ rows_base+32(FP), DI
	MOVQ rstride+56(FP), R9
	MOVQ out_base+64(FP), DX
	SHLQ $2, CX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (SI)(R8*1), R13
	LEAQ (R13)(R8*1), AX
	LEAQ (DI)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	MOVQ ostride+88(FP), R8 // q's stride is no longer needed
	SHLQ $2, R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ   BX, BX
	TESTQ  CX, CX
	JE     t34reduce

t34loop:
	VMOVUPS     (SI)(BX*1), Y12
	VMOVUPS     (R13)(BX*1), Y13
	VMOVUPS     (AX)(BX*1), Y14
	VMOVUPS     (DI)(BX*1), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VMOVUPS     (R10)(BX*1), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VMOVUPS     (R11)(BX*1), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VMOVUPS     (R12)(BX*1), Y15
	VFMADD231PS Y12, Y15, Y9
	VFMADD231PS Y13, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	ADDQ        $32, BX
	CMPQ        BX, CX
	JLT         t34loop

t34reduce:
	// Query j's four row sums: two horizontal adds pair the rows, a third
	// folds them, and the two 128-bit halves are added.
	VHADDPS      Y3, Y0, Y0
	VHADDPS      Y9, Y6, Y6
	VHADDPS      Y6, Y0, Y0
	VEXTRACTF128 $1, Y0, X6
	VADDPS       X6, X0, X0
	VMOVUPS      X0, (DX)
	VHADDPS      Y4, Y1, Y1
	VHADDPS      Y10, Y7, Y7
	VHADDPS      Y7, Y1, Y1
	VEXTRACTF128 $1, Y1, X7
	VADDPS       X7, X1, X1
	VMOVUPS      X1, (DX)(R8*1)
	VHADDPS      Y5, Y2, Y2
	VHADDPS      Y11, Y8, Y8
	VHADDPS      Y8, Y2, Y2
	VEXTRACTF128 $1, Y2, X8
	VADDPS       X8, X2, X2
	VMOVUPS      X2, (DX)(R8*2)
	VZEROUPPER
	RET
