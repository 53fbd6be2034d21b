#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/commit_trace.hh"
#include "tests/temp_dir.hh"

namespace roster::daemon {
namespace {

// The events of a trace file, in order (the second word of each line).
std::vector<std::string> events_in(const std::string& path) {
    std::ifstream file(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(file, line);) {
        std::istringstream in(line);
        std::string ns, event;
        in >> ns >> event;
        out.push_back(event);
    }
    return out;
}

TEST(commit_trace, a_turn_of_the_loop_ends_with_step_end_only_when_it_recorded_something) {
    const roster::testing::temp_dir dir{"roster-trace-test"};
    const std::string path = (dir.path() / "trace").string();
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    {
        commit_trace trace(f);
        trace.step_end(); // an idle turn: nothing
        trace.record("request_in");
        trace.record("append_out_early", 2, 7);
        trace.step_end();
        trace.step_end(); // idle again
        trace.record("reply_out");
        trace.step_end();
    } // written at exit
    EXPECT_EQ(events_in(path), (std::vector<std::string>{"request_in", "append_out_early", "step_end", "reply_out",
                                                      "step_end"}));
}

} // namespace
} // namespace roster::daemon
