#pragma once

#include <cstddef>
#include <string_view>

// What web/embed.cmake generates (embedded.cc in the build directory): each file of web/ that the
// page is made of, by its file name. Private to roster_web; use assets.hh.
namespace roster::web::detail {

struct embedded_file {
    std::string_view name;    // "index.html"
    std::string_view content; // its bytes
};

extern const embedded_file embedded_files[];
extern const std::size_t embedded_file_count;

} // namespace roster::web::detail
