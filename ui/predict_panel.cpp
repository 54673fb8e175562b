#include "ui/predict_panel.h"

#include "api/error.h"
#include "ui/plots.h"
#include "ui/shown_text.h"

#include <QtConcurrent/QtConcurrent>

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

// A horizontal bar of `fraction` in a rich-text table cell.
QString bar(double fraction, const QColor& colour) {
    const int width = std::max(1, static_cast<int>(fraction * 90));
    return QStringLiteral(
               "<table cellspacing=0 cellpadding=0><tr><td width=%1 height=8 "
               "bgcolor=\"%2\"></td></tr></table>")
        .arg(width)
        .arg(colour.name());
}

QString cardText(const ImagePrediction& p) {
    if (!p.error.empty()) {
        return QObject::tr("<b>%1</b><br><span style='color:#D55E00'>%2</span>")
            .arg(QFileInfo(shownText(p.file)).fileName().toHtmlEscaped(),
                 shownText(p.error).toHtmlEscaped());
    }
    QString html = QStringLiteral("<b>%1</b><br>")
                       .arg(QFileInfo(shownText(p.file)).fileName().toHtmlEscaped());
    if (p.unfamiliar) {
        html += QObject::tr(
                    "<span style='color:#D55E00'><b>Unfamiliar</b>: unlike every learned "
                    "class (OOD score %1, familiar ≤ 1); calibrated probabilities "
                    "discounted</span><br>")
                    .arg(*p.oodScore, 0, 'f', 2);
    } else if (p.oodScore) {
        html += QObject::tr("<small>familiar (OOD score %1 ≤ 1)</small><br>")
                    .arg(*p.oodScore, 0, 'f', 2);
    }
    html += QObject::tr("Task %1 · confidence %2 %3<br>")
                .arg(p.predictedTask + 1)
                .arg(100 * p.taskConfidence, 0, 'f', 1)
                .arg(p.hasTaskIdentity ? QString() : QObject::tr("(from class scores)"));
    html += QStringLiteral("<table cellspacing=2>");
    for (std::size_t t = 0; t < p.taskPosterior.size(); ++t) {
        html += QStringLiteral("<tr><td>T%1</td><td>%2</td><td align=right>%3</td></tr>")
                    .arg(t + 1)
                    .arg(bar(p.taskPosterior[t], okabeIto(2)))
                    .arg(p.taskPosterior[t], 0, 'f', 3);
    }
    html += QStringLiteral(
                "</table><table cellspacing=2><tr><th align=left>%1</th><th>%2</th>"
                "<th></th><th>%3</th><th></th></tr>")
                .arg(QObject::tr("class"), QObject::tr("calibrated"), QObject::tr("raw"));
    for (const auto& c : p.top) {
        const double cal = c.calibrated.value_or(0);
        html += QStringLiteral(
                    "<tr><td>%1 <small>(T%2)</small></td><td>%3</td><td align=right>"
                    "%4</td><td>%5</td><td align=right>%6</td></tr>")
                    .arg(shownText(c.name).toHtmlEscaped())
                    .arg(c.task + 1)
                    .arg(c.calibrated ? bar(cal, okabeIto(0)) : QString())
                    .arg(c.calibrated ? QStringLiteral("%1 %").arg(100 * cal, 0, 'f', 1)
                                      : QStringLiteral("–"))
                    .arg(bar(c.raw, okabeIto(1)))
                    .arg(QStringLiteral("%1 %").arg(100 * c.raw, 0, 'f', 1));
    }
    return html + QStringLiteral("</table>");
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
    auto* inner = new QWidget;
    cards_ = new QVBoxLayout(inner);
    cards_->addStretch(1);
    scroll->setWidget(inner);
    layout->addWidget(scroll, 1);
    connect(&watcher_, &QFutureWatcher<std::pair<std::vector<ImagePrediction>, QString>>::finished,
            this, [this] {
                const auto [results, problem] = watcher_.result();
                showResults(results, problem);
            });
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
        if (results_.empty() && !watcher_.isRunning()) {
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
    if (watcher_.isRunning()) {
        watcher_.waitForFinished();
    }
    status_->setText(tr("Predicting %n image(s)…", nullptr, static_cast<int>(files.size())));
    const std::string run = runDir_.toStdString();
    const int after = afterTask();
    std::vector<std::filesystem::path> paths;
    for (const auto& f : files) {
        paths.emplace_back(f.toStdString());
    }
    watcher_.setFuture(QtConcurrent::run([run, after, paths] {
        try {
            Predictor predictor(run, after);
            return std::make_pair(predictor.predictFiles(paths), QString());
        } catch (const std::exception& err) {
            return std::make_pair(std::vector<ImagePrediction>{}, QString::fromUtf8(err.what()));
        }
    }));
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
        auto* card = new QFrame;
        card->setFrameShape(QFrame::StyledPanel);
        if (p.unfamiliar) {  // the labels inside are QFrames too: select the card by name
            card->setObjectName(QStringLiteral("unfamiliarCard"));
            card->setStyleSheet(QStringLiteral(
                "#unfamiliarCard { border: 2px solid #D55E00; border-radius: 4px; }"));
        }
        auto* row = new QHBoxLayout(card);
        auto* picture = new QLabel;
        QImage image(QString::fromStdString(p.file));
        if (!image.isNull() && p.error.empty()) {
            picture->setPixmap(QPixmap::fromImage(
                image.scaled(72, 72, Qt::KeepAspectRatio, Qt::SmoothTransformation)));
        }
        picture->setFixedWidth(76);
        row->addWidget(picture, 0, Qt::AlignTop);
        auto* text = new QLabel(cardText(p));
        text->setTextFormat(Qt::RichText);
        text->setWordWrap(true);
        text->setTextInteractionFlags(Qt::TextSelectableByMouse);
        row->addWidget(text, 1);
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
