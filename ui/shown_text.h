#pragma once
// Text the window shows that came from outside: file and folder names, class names, error
// messages. Names on disk need not be UTF-8; QString::fromStdString would turn each odd byte
// into U+FFFD, so that two names could look the same (#14). Here they read caf\xE9 as in
// events.jsonl, summary.json and the command line.

#include "api/output_text.h"

#include <fmt/format.h>
#include <string>

#include <QString>

namespace dlw::ui {

inline QString shownText(const std::string& text) {
    return QString::fromStdString(displayText(text));
}

// `value` with `decimals` decimals, rounded as dlw's command line and reports round (fmt: ties
// to even, 84.25 → "84.2"; QString::number rounds them away from zero, so the window and
// `dlw compare` printed the same run's figures differently).
inline QString decimalText(double value, int decimals) {
    return QString::fromStdString(fmt::format("{:.{}f}", value, decimals));
}

// `text` for rich text (labels, reports): HTML-escaped, and '%' written as "&#37;", so that
// the QString::arg calls that later fill the same string never read a name's "%2" as their
// placeholder (a class folder "sale 100%2" once took the next argument's value).
inline QString htmlText(const QString& text) {
    return text.toHtmlEscaped().replace(QLatin1Char('%'), QStringLiteral("&#37;"));
}

}  // namespace dlw::ui
