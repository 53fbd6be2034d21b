#include "web/assets.hh"

#include <array>

#include "common/invariant.hh"
#include "web/embedded.hh"

namespace roster::web {

namespace {

struct route {
    std::string_view path;         // what the browser asks for
    std::string_view file;         // the file of web/ that answers it
    std::string_view content_type; // its Content-Type
};

constexpr std::array routes{
    route{"/", "index.html", "text/html; charset=utf-8"},
    route{"/index.html", "index.html", "text/html; charset=utf-8"},
    route{"/app.js", "app.js", "text/javascript; charset=utf-8"},
    route{"/style.css", "style.css", "text/css; charset=utf-8"},
    route{"/favicon.svg", "favicon.svg", "image/svg+xml"},
};

std::string_view embedded(std::string_view file) {
    for (std::size_t i = 0; i < detail::embedded_file_count; ++i) {
        if (detail::embedded_files[i].name == file) {
            return detail::embedded_files[i].content;
        }
    }
    // web/CMakeLists.txt embeds every file a route names; a missing one is a build bug.
    invariant_broken("roster::web", "{} is not embedded (web/CMakeLists.txt)", file);
}

// Built once, on the first call (thread-safe static initialization).
const std::array<asset, routes.size()>& assets() {
    static const std::array<asset, routes.size()> table = [] {
        std::array<asset, routes.size()> t{};
        for (std::size_t i = 0; i < routes.size(); ++i) {
            t[i] = asset{embedded(routes[i].file), routes[i].content_type};
        }
        return t;
    }();
    return table;
}

} // namespace

const asset* find_asset(std::string_view path) {
    for (std::size_t i = 0; i < routes.size(); ++i) {
        if (routes[i].path == path) {
            return &assets()[i];
        }
    }
    return nullptr;
}

} // namespace roster::web
