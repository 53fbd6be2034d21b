#pragma once

#include <string_view>

// The live page (index.html, app.js, style.css, favicon.svg), embedded in the binary at build time
// by web/embed.cmake: rosterd serves it with no file on disk and no external URL, so it works on a
// machine without internet. The page needs `Content-Security-Policy: default-src 'self'; img-src
// 'self' data:; style-src 'self'` (no inline script or style) and talks only to /v1/* of the node
// that served it.
namespace roster::web {

struct asset {
    std::string_view content;      // the file's bytes, exactly as in web/ of the source tree
    std::string_view content_type; // for the Content-Type header, with a charset for text
};

// The asset a GET of `path` answers with: "/" and "/index.html" the page, "/app.js", "/style.css",
// "/favicon.svg"; nullptr for any other path (also with a query string: the caller strips it).
// Points into static storage; thread-safe.
[[nodiscard]] const asset* find_asset(std::string_view path);

} // namespace roster::web
