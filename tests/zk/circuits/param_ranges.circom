// Test harness (tests/audit/test_param_ranges.py): MarginParamRanges alone, so the A4 range
// checks are compared with calcm.fixedpoint's ranges value by value at every bound.
pragma circom 2.1.0;

include "parameter_ranges.circom";

component main = MarginParamRanges(2, 2);
