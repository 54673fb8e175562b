#include "ui/predict_panel.h"

#include "api/error.h"
#include "api/run_folder.h"
#include "ui/plots.h"
#include "ui/shown_text.h"

#include <QtConcurrent/QtConcurrent>
#include <algorithm>
#include <numeric>

#include <QApplication>
#include <QClipboard>
#include <QDateTime>
#include <QDir>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QImage>
#include <QKeyEvent>
#include <QLabel>
#include <QMimeData>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QSlider>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace dlw::ui {
namespace {

// A horizontal bar of `fraction` of `width` pixels in a rich-text table cell.
QString bar(double fraction, const QColor& colour, int width) {
    return QStringLiteral(
               "<table cellspacing=0 cellpadding=0><tr><td width=%1 height=8 "
               "bgcolor=\"%2\"></td></tr></table>")
        .arg(std::max(1, static_cast<int>(fraction * width)))
        .arg(colour.name());
}

// "71.6 %" that never wraps between the number and its sign.
QString percent(double fraction) {
    return QStringLiteral("%1&nbsp;%").arg(decimalText(100 * fraction, 1));
}

// Most task rows a card lists; the rest are summed on one line (#17: 20-task runs).
constexpr std::size_t kTaskRows = 5;

// The card's heading beside the picture: file name, the unfamiliar mark, the predicted task.
QString cardHeading(const ImagePrediction& p) {
    const QString name = htmlText(QFileInfo(shownText(p.file)).fileName());
    if (!p.error.empty()) {
        return QObject::tr("<b>%1</b><br><span style='color:#D55E00'>%2</span>")
            .arg(name, htmlText(shownText(p.error)));
    }
    QString html = QStringLiteral("<b>%1</b><br>").arg(name);
    if (p.unfamiliar) {
        html += QObject::tr(
                    "<span style='color:#D55E00'><b>Unfamiliar</b>: unlike every learned "
                    "class (OOD score %1, familiar ≤ 1); calibrated probabilities "
                    "discounted</span><br>")
                    .arg(decimalText(*p.oodScore, 2));
    } else if (p.oodScore) {
        html += QObject::tr("<small>familiar (OOD score %1 ≤ 1)</small><br>")
                    .arg(decimalText(*p.oodScore, 2));
    }
    return html + QObject::tr("Task %1 · confidence %2 %3")
                      .arg(p.predictedTask + 1)
                      .arg(percent(p.taskConfidence))
                      .arg(p.hasTaskIdentity ? QString() : QObject::tr("(from class scores)"));
}

// The card's tables, the whole card's width: the likeliest tasks' posteriors (the rest summed),
// then the top classes with the calibrated probability as a bar and the raw one as a number.
// Sized for the 330-400 px panel of a 1600-pixel window: no column is wider than it must be,
// numbers never wrap, and long class names wrap within their own column.
QString cardTables(const ImagePrediction& p) {
    std::vector<std::size_t> order(p.taskPosterior.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return p.taskPosterior[a] > p.taskPosterior[b];
    });
    const bool cut = order.size() > kTaskRows + 1;  // never "1 more task": list it instead
    QString html = QStringLiteral("<table cellspacing=2>");
    double rest = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::size_t t = order[i];
        if (cut && i >= kTaskRows) {
            rest += p.taskPosterior[t];
            continue;
        }
        html += QStringLiteral(
                    "<tr><td nowrap>T%1</td><td>%2</td><td align=right nowrap>%3</td>"
                    "</tr>")
                    .arg(t + 1)
                    .arg(bar(p.taskPosterior[t], okabeIto(2), 70))
                    .arg(percent(p.taskPosterior[t]));
    }
    if (cut) {
        html += QObject::tr(
                    "<tr><td colspan=3><small>%n more task(s): %1 together</small></td>"
                    "</tr>",
                    nullptr, static_cast<int>(order.size() - kTaskRows))
                    .arg(percent(rest));
    }
    html += QStringLiteral(
                "</table><table cellspacing=2 width=100%><tr><th align=left>%1</th>"
                "<th colspan=2 align=left>%2</th><th align=right>%3</th></tr>")
                .arg(QObject::tr("class"), QObject::tr("calibrated"), QObject::tr("raw"));
    for (const auto& c : p.top) {
        html += QStringLiteral(
                    "<tr><td>%1&nbsp;<small>(T%2)</small></td><td>%3</td><td align=right "
                    "nowrap>%4</td><td align=right nowrap><span style='color:#777'>%5</span>"
                    "</td></tr>")
                    .arg(htmlText(shownText(c.name)))
                    .arg(c.task + 1)
                    .arg(c.calibrated ? bar(*c.calibrated, okabeIto(0), 60) : QString())
                    .arg(c.calibrated ? percent(*c.calibrated) : QStringLiteral("–"))
                    .arg(percent(c.raw));
    }
    return html + QStringLiteral("</table>");
}

// What decides whether a loaded model still is the one asked for: the run, the task, and the
// size and modification time of that task's checkpoint files (a run resumed or redone in the
// same folder writes them anew).
std::string checkpointKey(const std::string& run, int after) {
    std::string key = run;
    key += '|';
    key += std::to_string(after);
    const auto checkpoints = taskCheckpoints(run);
    if (const auto it = checkpoints.find(after); it != checkpoints.end()) {
        for (const char* extension : {".json", ".safetensors"}) {
            auto file = it->second;
            file += extension;
            std::error_code sizeError;
            std::error_code timeError;
            const auto size = std::filesystem::file_size(file, sizeError);
            const auto time = std::filesystem::last_write_time(file, timeError);
            // Appended piece by piece: GCC 12 misfires -Wrestrict on "|" + std::string&& (C++20).
            key += '|';
            key += std::to_string(sizeError ? 0 : size);
            key += ':';
            key += std::to_string(timeError ? 0 : time.time_since_epoch().count());
        }
    }
    return key;
}

// A card: the picture and heading side by side, the tables beneath across the card's width.
QFrame* makeCard(const ImagePrediction& p) {
    auto* card = new QFrame;
    card->setFrameShape(QFrame::StyledPanel);
    if (p.unfamiliar) {  // the labels inside are QFrames too: select the card by name
        card->setObjectName(QStringLiteral("unfamiliarCard"));
        card->setStyleSheet(
            QStringLiteral("#unfamiliarCard { border: 2px solid #D55E00; border-radius: 4px; }"));
    }
    auto* column = new QVBoxLayout(card);
    auto* top = new QHBoxLayout;
    auto* picture = new QLabel;
    QImage image(QString::fromStdString(p.file));
    if (!image.isNull() && p.error.empty()) {
        picture->setPixmap(QPixmap::fromImage(
            image.scaled(64, 64, Qt::KeepAspectRatio, Qt::SmoothTransformation)));
    }
    picture->setFixedWidth(68);
    top->addWidget(picture, 0, Qt::AlignTop);
    auto label = [](const QString& html) {
        auto* text = new QLabel(html);
        text->setTextFormat(Qt::RichText);
        text->setWordWrap(true);
        text->setTextInteractionFlags(Qt::TextSelectableByMouse);
        return text;
    };
    top->addWidget(label(cardHeading(p)), 1);
    column->addLayout(top);
    if (p.error.empty()) {
        column->addWidget(label(cardTables(p)));
    }
    return card;
}

}  // namespace

PredictPanel::PredictPanel(QWidget* parent) : QWidget(parent) {
    setAcceptDrops(true);
    setFocusPolicy(Qt::StrongFocus);  // Ctrl+V pastes files or an image
    auto* layout = new QVBoxLayout(this);
    dropZone_ = new QLabel(tr("Drop image files here\nor paste them (Ctrl+V)"));
    dropZone_->setAlignment(Qt::AlignCenter);
    dropZone_->setFrameShape(QFrame::StyledPanel);
    dropZone_->setFrameShadow(QFrame::Sunken);
    dropZone_->setMinimumHeight(70);
    auto* choose = new QPushButton(tr("Choose images…"));
    connect(choose, &QPushButton::clicked, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(
            this, tr("Images to predict"), QString(),
            tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp);;All files (*)"));
        if (!files.isEmpty()) {
            predictFiles(files);
        }
    });
    layout->addWidget(dropZone_);
    layout->addWidget(choose);
    auto* sliderRow = new QHBoxLayout;
    sliderLabel_ = new QLabel;
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setPageStep(1);
    slider_->setTickPosition(QSlider::TicksBelow);
    sliderRow->addWidget(sliderLabel_);
    sliderRow->addWidget(slider_, 1);
    layout->addLayout(sliderRow);
    connect(slider_, &QSlider::valueChanged, this, [this] {
        sliderLabel_->setText(tr("Model after task %1").arg(afterTask()));
        if (!lastFiles_.isEmpty()) {
            predictFiles(lastFiles_);
        }
    });
    status_ = new QLabel;
    status_->setWordWrap(true);
    layout->addWidget(status_);
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);  // #17: cards fit the width
    auto* inner = new QWidget;
    cards_ = new QVBoxLayout(inner);
    cards_->addStretch(1);
    scroll->setWidget(inner);
    layout->addWidget(scroll, 1);
    connect(&watcher_, &QFutureWatcher<Outcome>::finished, this, &PredictPanel::finish);
    refreshTasks();
}

void PredictPanel::setRun(const QString& runDir) {
    runDir_ = runDir;
    refreshTasks();
}

void PredictPanel::refreshTasks() {
    const int previous = afterTask();
    const bool wasLatest = tasks_.empty() || previous == tasks_.back();
    tasks_ =
        runDir_.isEmpty() ? std::vector<int>{} : Predictor::availableTasks(runDir_.toStdString());
    const QSignalBlocker block(slider_);
    const int last = std::max<int>(static_cast<int>(tasks_.size()) - 1, 0);
    slider_->setRange(0, last);
    slider_->setEnabled(tasks_.size() > 1);
    const auto kept = std::find(tasks_.begin(), tasks_.end(), previous);
    // Follow the newest model unless the user chose an earlier one that still exists.
    slider_->setValue(!wasLatest && kept != tasks_.end() ? static_cast<int>(kept - tasks_.begin())
                                                         : last);
    if (tasks_.empty()) {
        sliderLabel_->setText(tr("No model yet"));
        status_->setText(
            tr("Predictions use a run's checkpoints: finish a task, or select a "
               "past run in the queue."));
    } else {
        sliderLabel_->setText(tr("Model after task %1").arg(afterTask()));
        if (results_.empty() && !running_) {
            status_->setText(tr("Ready: drop images to classify them with this run's model."));
        }
    }
}

int PredictPanel::afterTask() const {
    if (tasks_.empty()) {
        return 0;
    }
    return tasks_.at(static_cast<std::size_t>(
        std::clamp(slider_->value(), 0, static_cast<int>(tasks_.size()) - 1)));
}

void PredictPanel::predictFiles(const QStringList& files) {
    lastFiles_ = files;
    if (tasks_.empty()) {
        refreshTasks();
    }
    if (tasks_.empty()) {
        showResults({}, status_->text());
        return;
    }
    Request request;
    request.files = files;
    request.run = runDir_.toStdString();
    request.after = afterTask();
    request.modelKey = checkpointKey(request.run, request.after);
    if (running_) {  // #17: waited for it on the GUI thread, freezing the window
        waiting_ = std::move(request);
        status_->setText(
            tr("Predicting…; then %n more image(s)", nullptr, static_cast<int>(files.size())));
        return;
    }
    start(std::move(request));
}

void PredictPanel::start(Request request) {
    running_ = true;
    status_->setText(
        tr("Predicting %n image(s)…", nullptr, static_cast<int>(request.files.size())));
    std::vector<std::filesystem::path> paths;
    for (const auto& f : request.files) {
        paths.emplace_back(f.toStdString());
    }
    // The cached model goes to the worker only when it is the one asked for; only one worker
    // runs at a time, so no two threads use it at once.
    std::shared_ptr<Predictor> cached = request.modelKey == modelKey_ ? model_ : nullptr;
    watcher_.setFuture(
        QtConcurrent::run([request = std::move(request), paths = std::move(paths), cached] {
            Outcome out;
            out.modelKey = request.modelKey;
            try {
                out.model = cached;
                if (!out.model) {
                    out.model = std::make_shared<Predictor>(request.run, request.after);
                    out.loaded = true;
                }
                out.results = out.model->predictFiles(paths);
            } catch (const std::exception& err) {
                out.model.reset();
                out.problem = QString::fromUtf8(err.what());
            }
            return out;
        }));
}

void PredictPanel::finish() {
    running_ = false;
    Outcome out = watcher_.result();
    modelLoads_ += out.loaded ? 1 : 0;
    model_ = out.model;
    modelKey_ = out.model ? out.modelKey : std::string();
    if (waiting_) {  // overtaken by a later drop or another task: show that one instead
        Request next = std::move(*waiting_);
        waiting_.reset();
        start(std::move(next));
        return;
    }
    showResults(out.results, out.problem);
}

void PredictPanel::showResults(const std::vector<ImagePrediction>& results,
                               const QString& problem) {
    results_ = results;
    while (cards_->count() > 1) {
        auto* item = cards_->takeAt(0);
        delete item->widget();
        delete item;
    }
    int failed = 0;
    for (const auto& p : results) {
        auto* card = makeCard(p);
        cards_->insertWidget(cards_->count() - 1, card);
        failed += p.error.empty() ? 0 : 1;
    }
    if (!problem.isEmpty()) {
        status_->setText(problem);
    } else {
        status_->setText(
            tr("%1 image(s) with the model after task %2%3")
                .arg(results.size())
                .arg(afterTask())
                .arg(failed > 0 ? tr("; %1 could not be read").arg(failed) : QString()));
    }
    emit predictionsShown();
}

void PredictPanel::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls() || event->mimeData()->hasImage()) {
        event->acceptProposedAction();
    }
}

void PredictPanel::dropEvent(QDropEvent* event) {
    QStringList files;
    for (const auto& url : event->mimeData()->urls()) {
        if (url.isLocalFile()) {
            files << url.toLocalFile();
        }
    }
    if (!files.isEmpty()) {
        predictFiles(files);
        event->acceptProposedAction();
    }
}

void PredictPanel::keyPressEvent(QKeyEvent* event) {
    if (event->matches(QKeySequence::Paste)) {
        const QMimeData* mime = QApplication::clipboard()->mimeData();
        QStringList files;
        for (const auto& url : mime->urls()) {
            if (url.isLocalFile()) {
                files << url.toLocalFile();
            }
        }
        if (files.isEmpty() && mime->hasImage()) {  // pixels: saved to a temporary PNG first
            const QString dir =
                QStandardPaths::writableLocation(QStandardPaths::TempLocation) + "/dlw-pasted";
            QDir().mkpath(dir);
            const QString path =
                dir + QStringLiteral("/pasted-%1.png").arg(QDateTime::currentMSecsSinceEpoch());
            QSaveFile file(path);  // atomic, as every file the program writes
            if (file.open(QIODevice::WriteOnly) &&
                qvariant_cast<QImage>(mime->imageData()).save(&file, "PNG") && file.commit()) {
                files << path;
            }
        }
        if (!files.isEmpty()) {
            predictFiles(files);
        }
        return;
    }
    QWidget::keyPressEvent(event);
}

}  // namespace dlw::ui
