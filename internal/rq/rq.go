// Package rq implements residual quantization: M codebooks of L codewords
// each, learned level by level with k-means on the residuals, so that an
// image feature is named by M tokens (its semantic ID).
package rq
