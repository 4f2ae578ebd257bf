// Package archtest holds tests of the code base's shape: the limits on
// function and file length that keep it readable.
package archtest
