#include "web/assets.hh"

#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include <gtest/gtest.h>

// The page's files as the source tree has them (tests/CMakeLists.txt passes the folder).
#ifndef ROSTER_WEB_SOURCE_DIR
#error "ROSTER_WEB_SOURCE_DIR must name the web/ folder of the source tree"
#endif

namespace roster::web {
namespace {

std::string source_file(const std::string& name) {
    const std::string path = std::string(ROSTER_WEB_SOURCE_DIR) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct expected_asset {
    const char* path;
    const char* file;
    const char* content_type;
};

const expected_asset served[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
    {"/favicon.svg", "favicon.svg", "image/svg+xml"},
};

TEST(web_assets, every_file_is_embedded_byte_for_byte) {
    for (const auto& e : served) {
        SCOPED_TRACE(e.path);
        const asset* a = find_asset(e.path);
        ASSERT_NE(a, nullptr);
        const std::string source = source_file(e.file);
        ASSERT_FALSE(source.empty());
        // Compared as strings, so that a difference prints; equal sizes first for a short message.
        EXPECT_EQ(a->content.size(), source.size());
        EXPECT_TRUE(a->content == source) << e.file << " differs from the source tree's (rebuild?)";
        EXPECT_EQ(a->content_type, e.content_type);
    }
}

TEST(web_assets, index_and_root_are_the_same_page) {
    const asset* root = find_asset("/");
    const asset* index = find_asset("/index.html");
    ASSERT_NE(root, nullptr);
    ASSERT_NE(index, nullptr);
    EXPECT_EQ(root->content.data(), index->content.data());
}

TEST(web_assets, other_paths_are_not_found) {
    for (const char* path : {"", "index.html", "/app.js?x=1", "/APP.JS", "/app.js/", "//", "/web/app.js",
                             "/../app.js", "/embedded.hh", "/assets.cc", "/v1/members", "/metrics"}) {
        EXPECT_EQ(find_asset(path), nullptr) << "path '" << path << "'";
    }
    EXPECT_EQ(find_asset(std::string_view("/app.js\0", 8)), nullptr) << "a NUL after the path";
}

// The page must work on a machine without internet: no file names an http:// or https:// URL (a
// script, a font, a stylesheet, an image from elsewhere). The one exception is the SVG namespace,
// a name in the xmlns attribute that no browser fetches (an SVG file without it is not drawn).
TEST(web_assets, no_file_refers_to_another_site) {
    const std::regex url(R"(https?://[^\s"'<>)]*)", std::regex::icase);
    for (const auto& e : served) {
        const std::string text(find_asset(e.path)->content);
        for (auto it = std::sregex_iterator(text.begin(), text.end(), url); it != std::sregex_iterator(); ++it) {
            const std::string found = it->str();
            if (std::string_view(e.file) == "favicon.svg" && found == "http://www.w3.org/2000/svg") {
                continue;
            }
            ADD_FAILURE() << e.file << " refers to " << found;
        }
        // Protocol-relative URLs ("//cdn...") in src/href/url() too.
        EXPECT_EQ(std::regex_search(text, std::regex(R"((src|href)\s*=\s*["']//|url\(\s*["']?//)")), false)
            << e.file << " has a protocol-relative URL";
    }
}

// The Content-Security-Policy rosterd sends (default-src 'self'; style-src 'self') refuses inline
// script and style: the page has none, and the script inserts what the API says as text only.
TEST(web_assets, page_has_no_inline_script_or_style) {
    const std::string html(find_asset("/")->content);
    const std::regex script_tag(R"(<script\b([^>]*)>)", std::regex::icase);
    int scripts = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), script_tag); it != std::sregex_iterator(); ++it) {
        ++scripts;
        EXPECT_NE((*it)[1].str().find("src=\"/app.js\""), std::string::npos) << "inline script: " << it->str();
    }
    EXPECT_EQ(scripts, 1);
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(<style\b)", std::regex::icase))) << "a <style> element";
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(\sstyle\s*=)", std::regex::icase))) << "a style attribute";
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase))) << "an on* handler";
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(javascript:)", std::regex::icase)));
    EXPECT_NE(html.find("href=\"/style.css\""), std::string::npos);

    const std::string js(find_asset("/app.js")->content);
    for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                             "new Function", "setAttribute(\"style\"", "setAttribute('style'"}) {
        EXPECT_EQ(js.find(sink), std::string::npos) << "app.js uses " << sink;
    }
}

} // namespace
} // namespace roster::web
