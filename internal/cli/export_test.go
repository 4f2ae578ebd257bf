package cli

// Overlap is overlap, exported for the tests of package cli_test.
var Overlap = overlap
