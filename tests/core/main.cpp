// main() of dlw_core_tests: GoogleTest's, but a program whose selected tests all skipped ends
// with test::kAllSkipped, which ctest reads as "Skipped" (tests/test_support.h).
#include "test_support.h"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    return dlw::test::runAllTests();
}
