#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/temp_dir.hh"

#include "daemon/incarnation.hh"

namespace roster::daemon {
namespace {

std::uint64_t wall_us() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

using roster::testing::temp_dir;

std::uint64_t stored(const std::filesystem::path& dir) {
    std::uint64_t v = 0;
    std::ifstream(dir / "incarnation") >> v;
    return v;
}

TEST(next_incarnation, is_the_wall_clock_in_microseconds_for_a_member) {
    const std::uint64_t before = wall_us();
    auto i = next_incarnation("");
    const std::uint64_t after = wall_us();
    ASSERT_TRUE(i) << i.error();
    EXPECT_GE(i->value(), before);
    EXPECT_LE(i->value(), after);
}

TEST(next_incarnation, grows_across_restarts_and_keeps_the_last_one) {
    temp_dir d{"roster-incarnation-test"};
    auto first = next_incarnation(d.path().string());
    ASSERT_TRUE(first) << first.error();
    EXPECT_EQ(stored(d.path()), first->value());
    auto second = next_incarnation(d.path().string());
    ASSERT_TRUE(second) << second.error();
    EXPECT_GT(second->value(), first->value());
    EXPECT_EQ(stored(d.path()), second->value());
    EXPECT_FALSE(std::filesystem::exists(d.path() / "incarnation.new"));
}

TEST(next_incarnation, passes_the_last_one_even_when_the_clock_went_back) {
    temp_dir d{"roster-incarnation-test"};
    const std::uint64_t future = wall_us() + 3'600'000'000ULL; // used an hour "from now"
    std::ofstream(d.path() / "incarnation") << future << "\n";
    auto i = next_incarnation(d.path().string());
    ASSERT_TRUE(i) << i.error();
    EXPECT_EQ(i->value(), future + 1);
}

TEST(next_incarnation, names_the_file_it_cannot_write) {
    temp_dir d{"roster-incarnation-test"};
    const auto missing = d.path() / "no-such-dir";
    auto i = next_incarnation(missing.string());
    ASSERT_FALSE(i);
    EXPECT_EQ(i.error().rfind("cannot write " + (missing / "incarnation.new").string() + ": ", 0), 0u)
        << i.error();
}

} // namespace
} // namespace roster::daemon
