#pragma once
// Text the window shows that came from outside: file and folder names, class names, error
// messages. Names on disk need not be UTF-8; QString::fromStdString would turn each odd byte
// into U+FFFD, so that two names could look the same (#14). Here they read caf\xE9 as in
// events.jsonl, summary.json and the command line.

#include "api/output_text.h"

#include <string>

#include <QString>

namespace dlw::ui {

inline QString shownText(const std::string& text) {
    return QString::fromStdString(displayText(text));
}

}  // namespace dlw::ui
