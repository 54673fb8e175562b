#pragma once
// "Did you mean ...?" for unknown keys and values: the nearest candidate by edit distance.

#include <string>
#include <vector>

namespace dlw::detail {

// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost 1 (so "rnak" is 1 from "rank"). Case-sensitive.
int editDistance(const std::string& a, const std::string& b);

// The candidate nearest to `word`, or "" when none is close (distance above 2 and above a
// quarter of the word's length). Ties go to the first candidate. Any thread.
std::string nearestName(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace dlw::detail
