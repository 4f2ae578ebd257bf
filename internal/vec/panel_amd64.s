//go:build amd64 && !purego

#include "textflag.h"
#include "avx_amd64.h"

// SCALE2 multiplies the two accumulators of one row by the row's scale.
#define SCALE2(off, tmp, a, b) \
	VBROADCASTSS off(R11), tmp \
	VMULPS       tmp, a, a     \
	VMULPS       tmp, b, b

// FLAGS stores one row's 16 flags, !(score <= thr), at off(R13) and ORs
// them into BX. Y12 and Y13 hold the thresholds.
#define FLAGS(off, a, b) \
	VCMPPS    $0x16, Y12, a, Y14 \
	VMOVMSKPS Y14, AX            \
	VCMPPS    $0x16, Y13, b, Y15 \
	VMOVMSKPS Y15, CX            \
	SHLL      $8, CX             \
	ORL       CX, AX             \
	MOVW      AX, off(R13)       \
	ORL       AX, BX

// ROW2 broadcasts one row value from src into y and adds its products
// with the panel's two vectors (Y12, Y13) into the row's accumulators.
#define ROW2(src, y, a, b) \
	VBROADCASTSS src, y        \
	VFMADD231PS  Y12, y, a     \
	VFMADD231PS  Y13, y, b

// STEP6 is one step over i for six rows: the panel's two vectors at
// pofs(BX), row values at xofs from SI and DI.
#define STEP6(pofs, xofs) \
	VMOVUPS pofs(BX), Y12                    \
	VMOVUPS pofs+32(BX), Y13                 \
	ROW2(xofs(SI), Y14, Y0, Y1)              \
	ROW2(xofs(SI)(R8*1), Y15, Y2, Y3)        \
	ROW2(xofs(SI)(R8*2), Y14, Y4, Y5)        \
	ROW2(xofs(DI), Y15, Y6, Y7)              \
	ROW2(xofs(DI)(R8*1), Y14, Y8, Y9)        \
	ROW2(xofs(DI)(R8*2), Y15, Y10, Y11)

// func scorePanelAVX2(data *float32, rows, dim int, panel, scale *float32, thr *[PanelWidth]float32, out *float32, flags *uint16) bool
//
// Y(2r) and Y(2r+1) accumulate row r against queries 0-7 and 8-15: each
// step over i loads the panel's two vectors of value i once and
// broadcasts value i of each of the six rows, for 12 FMAs. Rows 0-2 are
// addressed from SI, rows 3-5 from DI, R8 is the row stride in bytes.
TEXT ·scorePanelAVX2(SB), NOSPLIT, $0-65
	MOVQ data+0(FP), SI
	MOVQ rows+8(FP), R9
	MOVQ dim+16(FP), R8
	MOVQ panel+24(FP), R10
	MOVQ scale+32(FP), R11
	MOVQ thr+40(FP), R12
	MOVQ out+48(FP), DX
	MOVQ flags+56(FP), R13
	MOVB $0, ret+64(FP)
	SHLQ $2, R8
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI

six:
	CMPQ   R9, $6
	JLT    one
	ZERO4(Y0, Y1, Y2, Y3)
	ZERO4(Y4, Y5, Y6, Y7)
	ZERO4(Y8, Y9, Y10, Y11)
	MOVQ   R10, BX
	MOVQ   R8, CX
	SHRQ   $2, CX
	TESTQ  $1, CX
	JE     sixpairs
	STEP6(0, 0)
	ADDQ   $64, BX
	ADDQ   $4, SI
	ADDQ   $4, DI
	DECQ   CX
	JE     sixdone

sixpairs:
	STEP6(0, 0)
	STEP6(64, 4)
	ADDQ $128, BX
	ADDQ $8, SI
	ADDQ $8, DI
	SUBQ $2, CX
	JNE  sixpairs

sixdone:
	// SI and DI now point at rows 1 and 4: on to row 6.
	LEAQ  (DI)(R8*2), SI
	LEAQ  (SI)(R8*2), DI
	ADDQ  R8, DI
	TESTQ R11, R11
	JE    sixflags
	SCALE2(0, Y14, Y0, Y1)
	SCALE2(4, Y15, Y2, Y3)
	SCALE2(8, Y14, Y4, Y5)
	SCALE2(12, Y15, Y6, Y7)
	SCALE2(16, Y14, Y8, Y9)
	SCALE2(20, Y15, Y10, Y11)
	ADDQ  $24, R11

sixflags:
	VMOVUPS (R12), Y12
	VMOVUPS 32(R12), Y13
	XORL    BX, BX
	FLAGS(0, Y0, Y1)
	FLAGS(2, Y2, Y3)
	FLAGS(4, Y4, Y5)
	FLAGS(6, Y6, Y7)
	FLAGS(8, Y8, Y9)
	FLAGS(10, Y10, Y11)
	TESTL   BX, BX
	JE      sixnext
	MOVB    $1, ret+64(FP)
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VMOVUPS Y4, 128(DX)
	VMOVUPS Y5, 160(DX)
	VMOVUPS Y6, 192(DX)
	VMOVUPS Y7, 224(DX)
	VMOVUPS Y8, 256(DX)
	VMOVUPS Y9, 288(DX)
	VMOVUPS Y10, 320(DX)
	VMOVUPS Y11, 352(DX)

sixnext:
	ADDQ $384, DX
	ADDQ $12, R13
	SUBQ $6, R9
	JMP  six

	// The last rows one at a time, summed in the same order.
one:
	TESTQ  R9, R9
	JE     done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   R10, BX
	MOVQ   R8, CX
	SHRQ   $2, CX

oneloop:
	VBROADCASTSS (SI), Y14
	VFMADD231PS  (BX), Y14, Y0
	VFMADD231PS  32(BX), Y14, Y1
	ADDQ         $64, BX
	ADDQ         $4, SI
	DECQ         CX
	JNZ          oneloop

	TESTQ R11, R11
	JE    oneflags
	SCALE2(0, Y14, Y0, Y1)
	ADDQ  $4, R11

oneflags:
	VMOVUPS (R12), Y12
	VMOVUPS 32(R12), Y13
	XORL    BX, BX
	FLAGS(0, Y0, Y1)
	TESTL   BX, BX
	JE      onenext
	MOVB    $1, ret+64(FP)
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)

onenext:
	ADDQ $64, DX
	ADDQ $2, R13
	DECQ R9
	JMP  one

done:
	VZEROUPPER
	RET
