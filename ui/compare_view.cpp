#include "ui/compare_view.h"

#include "api/error.h"
#include "ui/report.h"
#include "ui/shown_text.h"

#include <algorithm>

#include <QDialogButtonBox>
#include <QLabel>
#include <QListWidget>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace dlw::ui {

namespace {
constexpr int kDirRole = Qt::UserRole + 1;
}  // namespace

CompareDialog::CompareDialog(const QueueModel& queue,
                             const std::vector<std::string>& checked,
                             QWidget* parent)
    : QDialog(parent), list_(new QListWidget), view_(new QTextBrowser) {
    setWindowTitle(tr("Compare runs"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(
        tr("Check the runs to compare: the table gives each experiment's mean ± SD over its "
           "seeds, and beneath it only the experiment keys that differ between the runs.")));
    for (int row = 0; row < queue.rowCount(); ++row) {
        const auto& entry = queue.entry(row);
        if (entry.runDir.empty() || entry.data->evaluations.empty()) {
            continue;  // nothing to compare yet
        }
        auto* item = new QListWidgetItem(QueueModel::describe(entry), list_);
        item->setData(kDirRole, QString::fromStdString(entry.runDir));
        item->setToolTip(shownText(entry.runDir));
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        const bool on = std::find(checked.begin(), checked.end(), entry.runDir) != checked.end();
        item->setCheckState(on ? Qt::Checked : Qt::Unchecked);
    }
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(list_);
    split->addWidget(view_);
    split->setStretchFactor(1, 3);
    layout->addWidget(split, 1);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
    layout->addWidget(buttons);
    connect(list_, &QListWidget::itemChanged, this, &CompareDialog::refresh);
    resize(1100, 700);
    refresh();
}

std::vector<std::string> CompareDialog::checkedRuns() const {
    std::vector<std::string> out;
    for (int i = 0; i < list_->count(); ++i) {
        if (list_->item(i)->checkState() == Qt::Checked) {
            out.push_back(list_->item(i)->data(kDirRole).toString().toStdString());
        }
    }
    return out;
}

QString CompareDialog::shownHtml() const {
    return view_->toHtml();
}

void CompareDialog::setChecked(const std::string& runDir, bool on) {
    for (int i = 0; i < list_->count(); ++i) {
        if (list_->item(i)->data(kDirRole).toString().toStdString() == runDir) {
            list_->item(i)->setCheckState(on ? Qt::Checked : Qt::Unchecked);
        }
    }
}

void CompareDialog::refresh() {
    std::vector<RunRecord> records;
    QStringList headings;
    QStringList problems;
    for (const auto& dir : checkedRuns()) {
        try {
            records.push_back(readRunRecord(dir));
            headings << htmlText(shownText(records.back().variant + " · seed " +
                                           std::to_string(records.back().seed)));
        } catch (const Error& err) {
            problems << htmlText(shownText(err.what()));
        }
    }
    QString html;
    if (records.empty()) {
        html = tr("<p>Check two or more runs above.</p>");
    } else {
        html = comparisonHtml(records) + tr("<h3>What differs</h3>") +
               differingKeysHtml(records, headings);
    }
    for (const auto& p : problems) {
        html += QStringLiteral("<p style='color:#D55E00'>%1</p>").arg(p);
    }
    view_->setHtml(html);
}

}  // namespace dlw::ui
