#pragma once

#include <stdexcept>
#include <string>

namespace dlw {

// The one exception type the engine throws for bad input and failed I/O. Its message names the
// file, key or tensor, what was expected, what was found, and where useful a hint, so that a
// boundary (CLI main, the GUI's worker slot) can show it to the user as it is.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Training diverged: a loss, a gradient or a covariance is not finite (NaN or Inf). The run
// stops at once and keeps its last good checkpoint; the message says where and what to change.
class DivergedError : public Error {
public:
    using Error::Error;
};

}  // namespace dlw
