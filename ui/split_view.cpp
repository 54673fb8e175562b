#include "ui/split_view.h"

#include "api/error.h"
#include "ui/shown_text.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QObject>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace dlw::ui {
namespace {

// "n: a, b, c, …" for the first `examples` images of a part.
QString part(const std::vector<std::string>& images, int examples) {
    QStringList shown;
    for (std::size_t i = 0; i < images.size() && static_cast<int>(i) < examples; ++i) {
        shown << htmlText(shownText(images[i]));
    }
    if (images.size() > static_cast<std::size_t>(examples)) {
        shown << QStringLiteral("…");
    }
    return QStringLiteral("<b>%1</b><br><small>%2</small>")
        .arg(images.size())
        .arg(shown.join(QStringLiteral(", ")));
}

}  // namespace

QString splitHtml(const RunSplit& split, int examples) {
    QString html = QObject::tr(
                       "<p>Data <b>%1</b>: training and validation images from %2, test images "
                       "from %3, named by %4. The run is evaluated on its %5 images.</p>")
                       .arg(htmlText(shownText(split.kind)), htmlText(shownText(split.trainSource)),
                            htmlText(shownText(split.testSource)),
                            split.paths ? QObject::tr("path under data.root")
                                        : QObject::tr("record number in the file (from 0)"),
                            htmlText(shownText(split.evaluatedOn)));
    html += QObject::tr(
        "<table border=1 cellspacing=0 cellpadding=3><tr><th>task</th><th>domain</th>"
        "<th>classes (label: name)</th><th>train</th><th>val</th><th>test</th></tr>");
    for (const auto& t : split.tasks) {
        QStringList classes;
        for (std::size_t k = 0; k < t.labels.size() && k < t.classNames.size(); ++k) {
            classes << QStringLiteral("%1: %2")
                           .arg(t.labels[k])
                           .arg(htmlText(shownText(t.classNames[k])));
        }
        html += QStringLiteral(
                    "<tr><td align=right>%1</td><td>%2</td><td>%3</td><td>%4</td><td>%5</td>"
                    "<td>%6</td></tr>")
                    .arg(t.task)
                    .arg(t.domain.empty() ? QStringLiteral("–") : htmlText(shownText(t.domain)))
                    .arg(classes.join(QStringLiteral(", ")))
                    .arg(part(t.train, examples), part(t.val, examples), part(t.test, examples));
    }
    html += QStringLiteral("</table>");
    if (!split.skipped.empty()) {
        html += QObject::tr("<p>%n file(s) left out:</p><ul>", nullptr,
                            static_cast<int>(split.skipped.size()));
        for (const auto& w : split.skipped) {
            html += QStringLiteral("<li>%1: %2</li>")
                        .arg(htmlText(shownText(w.file)), htmlText(shownText(w.reason)));
        }
        html += QStringLiteral("</ul>");
    }
    return html;
}

void showSplitDialog(QWidget* parent, const std::string& runDir) {
    QString html;
    try {
        const auto split = readRunSplit(runDir);
        html = split ? splitHtml(*split, 5) +
                           QObject::tr("<p>Every image is listed in %1.</p>")
                               .arg(htmlText(shownText(runDir + "/" + run_files::kSplit)))
                     : QObject::tr("<p>%1 has no split manifest: the run predates it.</p>")
                           .arg(htmlText(shownText(runDir)));
    } catch (const Error& err) {
        html =
            QStringLiteral("<p style='color:#D55E00'>%1</p>").arg(htmlText(shownText(err.what())));
    }
    auto* dialog = new QDialog(parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(QObject::tr("Split of %1").arg(shownText(runDir)));
    auto* layout = new QVBoxLayout(dialog);
    auto* text = new QTextBrowser;
    text->setHtml(html);
    layout->addWidget(text);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    QObject::connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    layout->addWidget(buttons);
    dialog->resize(900, 500);
    dialog->show();
}

}  // namespace dlw::ui
