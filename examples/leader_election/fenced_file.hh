#pragma once

#include <cstdint>
#include <string>

// A resource that knows about fencing tokens: a file of actions, each stamped with the token of
// the leader that took it. It refuses an action whose token is lower than one it already
// accepted, so a leader that was paused, lost its leadership and woke up cannot overwrite the
// work of its successor. Several processes share it safely (flock).
//
// Layout: <path> holds the accepted actions, one line "token instance action";
// <path>.rejected holds the refused ones, in the same format.
class fenced_file {
public:
    explicit fenced_file(std::string path)
        : _path(std::move(path)) {}

    // Appends the action if `token` is at least the highest token accepted so far. Returns
    // whether it was accepted.
    bool write(std::uint64_t token, const std::string& instance, const std::string& action);

private:
    std::string _path;
};
