#include "util/strict_json.h"

#include "api/error.h"
#include "api/output_text.h"

#include <algorithm>
#include <cstddef>
#include <fmt/format.h>
#include <iterator>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

namespace dlw {
namespace {

// A character iterator that tells the SAX handler how far the parser has read, so that a key
// can be given its line: nlohmann's SAX events carry no position.
class CountingIterator {
public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    CountingIterator(const char* at, const char** mark) : at_(at), mark_(mark) {}
    reference operator*() const { return *at_; }
    CountingIterator& operator++() {
        ++at_;
        *mark_ = at_;
        return *this;
    }
    CountingIterator operator++(int) {
        CountingIterator before = *this;
        ++*this;
        return before;
    }
    bool operator==(const CountingIterator& o) const { return at_ == o.at_; }
    bool operator!=(const CountingIterator& o) const { return at_ != o.at_; }

private:
    const char* at_;
    const char** mark_;
};

// Keeps, per open object, the keys seen so far and the line of each; throws on a repeat.
class DuplicateKeyFinder : public nlohmann::json_sax<nlohmann::json> {
public:
    DuplicateKeyFinder(std::string_view text, const char** mark, const std::string& source)
        : text_(text), mark_(mark), source_(source) {}

    bool null() override { return value(); }
    bool boolean(bool /*val*/) override { return value(); }
    bool number_integer(number_integer_t /*val*/) override { return value(); }
    bool number_unsigned(number_unsigned_t /*val*/) override { return value(); }
    bool number_float(number_float_t /*val*/, const string_t& /*s*/) override { return value(); }
    bool string(string_t& /*val*/) override { return value(); }
    bool binary(binary_t& /*val*/) override { return value(); }
    bool start_object(std::size_t /*elements*/) override {
        open(Frame::Kind::Object);
        return true;
    }
    bool key(string_t& name) override {
        Frame& f = frames_.back();
        // Offsets, turned into lines only for the message: counting lines at every key would
        // make a header of many tensors quadratic.
        const std::size_t offset = currentOffset();
        const auto [it, inserted] = f.keys.emplace(name, offset);
        if (!inserted) {
            throw Error(fmt::format("{}: line {}: duplicate key '{}' (first at line {})", source_,
                                    lineAt(offset), path(name), lineAt(it->second)));
        }
        f.current = name;
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t /*elements*/) override {
        open(Frame::Kind::Array);
        return true;
    }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t /*position*/,
                     const std::string& /*last_token*/,
                     const nlohmann::detail::exception& /*ex*/) override {
        return false;  // not our concern: the caller's parse names it
    }

private:
    struct Frame {
        enum class Kind { Object, Array } kind;
        std::map<std::string, std::size_t> keys;  // object: key -> offset of its first use
        std::string current;                      // object: the key whose value is being read
        std::size_t index = 0;                    // array: the element being read
    };

    bool value() {
        if (!frames_.empty() && frames_.back().kind == Frame::Kind::Array) {
            ++frames_.back().index;
        }
        return true;
    }
    void open(Frame::Kind kind) {
        if (frames_.size() >= kMaxJsonDepth) {  // nlohmann's dump and get<> recurse
            throw Error(fmt::format("{}: line {}: nested deeper than {} levels", source_,
                                    currentLine(), kMaxJsonDepth));
        }
        frames_.push_back(Frame{kind, {}, {}, 0});
    }
    bool close() {
        frames_.pop_back();
        return value();  // the closed container was one value of its parent
    }
    std::size_t currentOffset() const {
        return std::min(static_cast<std::size_t>(*mark_ - text_.data()), text_.size());
    }
    int lineAt(std::size_t offset) const {
        const auto upTo = text_.substr(0, offset);
        return 1 + static_cast<int>(std::count(upTo.begin(), upTo.end(), '\n'));
    }
    int currentLine() const { return lineAt(currentOffset()); }
    // The dotted path of key `name` in the innermost object: "train.epochs", "a[2].b".
    std::string path(const std::string& name) const {
        std::string out;
        for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
            const Frame& f = frames_[i];
            if (f.kind == Frame::Kind::Object) {
                out += (out.empty() ? "" : ".") + f.current;
            } else {
                out += fmt::format("[{}]", f.index);
            }
        }
        return out.empty() ? name : out + "." + name;
    }

    std::string_view text_;
    const char** mark_;
    const std::string& source_;
    std::vector<Frame> frames_;
};

}  // namespace

namespace {

// Length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlongs, no surrogates,
// at most U+10FFFF), 0 if there is none.
std::size_t utf8SequenceAt(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) {
        return 1;
    }
    std::size_t n = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        low = c == 0xE0 ? 0xA0 : 0x80;
        high = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        low = c == 0xF0 ? 0x90 : 0x80;
        high = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + n > text.size() || byte(i + 1) < low || byte(i + 1) > high) {
        return 0;
    }
    for (std::size_t k = 2; k < n; ++k) {
        if ((byte(i + k) & 0xC0U) != 0x80) {
            return 0;
        }
    }
    return n;
}

}  // namespace

bool isValidUtf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8SequenceAt(text, i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

std::string escapeInvalidUtf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8SequenceAt(text, i);
        if (n == 0) {
            out += fmt::format("\\x{:02X}", static_cast<unsigned char>(text[i]));
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

nlohmann::json parseOutsideJson(std::string_view text, const std::string& source) {
    checkNoDuplicateKeys(text, source);
    try {
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& error) {
        // "[json.exception.parse_error.101] parse error at line L, column C: ...": the id
        // means nothing to a user.
        std::string what = error.what();
        const auto close = what.find("] ");
        throw Error(fmt::format("{}: malformed JSON: {}", source,
                                close == std::string::npos ? what : what.substr(close + 2)));
    }
}

nlohmann::json parseOutsideJsonOrDiscarded(std::string_view text) {
    try {
        return parseOutsideJson(text, "");
    } catch (const Error&) {
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
}

void checkNoDuplicateKeys(std::string_view text, const std::string& source) {
    const char* mark = text.data();
    DuplicateKeyFinder finder(text, &mark, source);
    nlohmann::json::sax_parse(CountingIterator(text.data(), &mark),
                              CountingIterator(text.data() + text.size(), &mark), &finder);
}

}  // namespace dlw

namespace dlw {

std::string jsonText(const nlohmann::json& json, int indent) {
    return dumpJson(json, indent);
}

std::string jsonText(const nlohmann::ordered_json& json, int indent) {
    return dumpJson(json, indent);
}

std::string displayText(std::string_view text) {
    return isValidUtf8(text) ? std::string(text) : escapeInvalidUtf8(text);
}

}  // namespace dlw
