#pragma once
// Reproducible randomness for the data layer (internal). Everything that must give the same
// result for the same seed on every platform and standard library goes through these helpers:
// std::shuffle and std::uniform_int_distribution are implementation-defined, so they are not used.

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace dlw::detail {

inline constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

// The splitmix64 finaliser of x + γ: a bijective, well-mixed 64-bit hash.
inline uint64_t mix64(uint64_t x) {
    uint64_t z = x + kGoldenGamma;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
}

// A seed derived from two values, e.g. (augmentSeed, sample index) or (seed, class).
inline uint64_t hashCombine(uint64_t a, uint64_t b) {
    return mix64(mix64(a) ^ b);
}

// splitmix64 as a generator: small state, passes BigCrush, identical everywhere. Not shared
// between threads: each user makes its own from a derived seed.
class SeededRng {
public:
    explicit SeededRng(uint64_t seed) : state_(seed) {}

    uint64_t next() {
        state_ += kGoldenGamma;
        return mix64(state_ - kGoldenGamma);
    }
    // Uniform in [0, n) without modulo bias; n > 0.
    uint64_t below(uint64_t n) {
        const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
        for (;;) {
            const uint64_t r = next();
            if (r >= threshold) {
                return r % n;
            }
        }
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform01() { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }
    double uniform(double low, double high) { return low + (high - low) * uniform01(); }

private:
    uint64_t state_;
};

// In-place Fisher-Yates shuffle driven by `rng`.
template <typename T>
void seededShuffle(std::vector<T>& values, SeededRng& rng) {
    for (std::size_t i = values.size(); i > 1; --i) {
        const auto j = static_cast<std::size_t>(rng.below(i));
        std::swap(values[i - 1], values[j]);
    }
}

// A permutation of 0..n-1 that depends only on (n, seed).
inline std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed) {
    std::vector<int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    SeededRng rng(seed);
    seededShuffle(order, rng);
    return order;
}

// A per-class stratified train/test split: of each class's images (in index order, permuted by
// a seed derived from (seed, class)), the first round(n · testFraction) go to test.
// Returns isTest per image. Labels must be in [0, numClasses).
inline std::vector<bool> stratifiedTestMask(const std::vector<int64_t>& labels,
                                            int64_t numClasses,
                                            double testFraction,
                                            uint64_t seed) {
    std::vector<std::vector<int64_t>> byClass(static_cast<std::size_t>(numClasses));
    for (std::size_t i = 0; i < labels.size(); ++i) {
        byClass[static_cast<std::size_t>(labels[i])].push_back(static_cast<int64_t>(i));
    }
    std::vector<bool> isTest(labels.size(), false);
    for (std::size_t c = 0; c < byClass.size(); ++c) {
        auto& members = byClass[c];
        SeededRng rng(hashCombine(seed, c));
        seededShuffle(members, rng);
        const auto testCount = static_cast<std::size_t>(
            std::llround(static_cast<double>(members.size()) * testFraction));
        for (std::size_t k = 0; k < testCount && k < members.size(); ++k) {
            isTest[static_cast<std::size_t>(members[k])] = true;
        }
    }
    return isTest;
}

}  // namespace dlw::detail
