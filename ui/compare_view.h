#pragma once
// "Compare runs…" (#17): pick runs of the queue with check boxes; the window shows the
// comparison (mean ± SD over seeds of each experiment) and only the experiment keys that differ
// between the picked runs. GUI thread only.

#include "ui/queue_model.h"

#include <QDialog>

class QListWidget;
class QTextBrowser;

namespace dlw::ui {

class CompareDialog : public QDialog {
    Q_OBJECT

public:
    // Lists every run of `queue` that finished a task; those of `checked` (run folders) start
    // checked. `queue` outlives the dialog.
    CompareDialog(const QueueModel& queue,
                  const std::vector<std::string>& checked,
                  QWidget* parent = nullptr);
    // The run folders checked now, and the HTML shown for them (tests).
    std::vector<std::string> checkedRuns() const;
    QString shownHtml() const;
    void setChecked(const std::string& runDir, bool on);

private:
    void refresh();

    QListWidget* list_;
    QTextBrowser* view_;
};

}  // namespace dlw::ui
