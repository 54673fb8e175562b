// The window's setup panel: the experiment form, the dataset and backbone descriptions, a
// dataset folder dropped on it, and saving or opening experiment files.
#include "api/backbone_info.h"
#include "api/dataset_scan.h"
#include "api/error.h"
#include "ui/experiment_form.h"
#include "ui/main_window.h"
#include "ui/plots.h"
#include "ui/shown_text.h"

#include <QtConcurrent/QtConcurrent>

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QGridLayout>
#include <QGroupBox>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QPointer>
#include <QPushButton>
#include <QScrollArea>
#include <QStatusBar>
#include <QTimer>
#include <QVBoxLayout>

namespace dlw::ui {

QWidget* MainWindow::createSetupPanel() {
    auto* box = new QGroupBox(tr("Setup"));
    auto* layout = new QVBoxLayout(box);
    form_ = new ExperimentForm;
    datasetInfo_ = new QLabel;
    datasetInfo_->setWordWrap(true);
    datasetInfo_->setTextFormat(Qt::RichText);
    datasetInfo_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    // #17: at 10 tasks × 10 classes the chips pushed the form's fields to half height. They
    // scroll in a box of at most about seven lines; the form keeps its room.
    auto* datasetScroll = new QScrollArea;
    datasetScroll->setWidget(datasetInfo_);
    datasetScroll->setWidgetResizable(true);
    datasetScroll->setFrameShape(QFrame::NoFrame);
    datasetScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    datasetScroll->setMaximumHeight(7 * datasetInfo_->fontMetrics().lineSpacing() + 8);
    datasetScroll->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
    setupError_ = new QLabel;
    setupError_->setWordWrap(true);
    setupError_->setStyleSheet(QStringLiteral("color: #D55E00"));
    layout->addWidget(form_, 1);
    backboneInfo_ = new QLabel;
    backboneInfo_->setWordWrap(true);
    backboneInfo_->setTextFormat(Qt::RichText);
    layout->addWidget(backboneInfo_);
    layout->addWidget(datasetScroll);
    layout->addWidget(setupError_);
    auto* buttons = new QGridLayout;
    addButton_ = new QPushButton(tr("Add to queue"));
    compareButton_ = new QPushButton(tr("Compare methods"));
    compareButton_->setToolTip(
        tr("Queue duallora, inflora, sd-lora, ranpac, seq-lora and joint on this sequence "
           "and seed"));
    auto* save = new QPushButton(tr("Save experiment…"));
    save->setToolTip(tr("Save the experiment file that `dlw run` reproduces"));
    auto* open = new QPushButton(tr("Open experiment…"));
    open->setToolTip(tr("Open an experiment file"));
    buttons->addWidget(addButton_, 0, 0);
    buttons->addWidget(compareButton_, 0, 1);
    buttons->addWidget(save, 1, 0);
    buttons->addWidget(open, 1, 1);
    layout->addLayout(buttons);
    connect(addButton_, &QPushButton::clicked, this, &MainWindow::addToQueue);
    connect(compareButton_, &QPushButton::clicked, this, &MainWindow::compareMethods);
    connect(save, &QPushButton::clicked, this, [this] {
        auto e = form_->experiment();
        if (!e) {
            setupError_->setText(form_->error());
            return;
        }
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Save experiment"), QString::fromStdString(e->name) + ".dlw.json",
            tr("Experiment (*.json)"));
        if (path.isEmpty()) {
            return;
        }
        try {
            saveExperimentFile(*e, path.toStdString());
            statusBar()->showMessage(tr("Saved %1 (run it with: dlw run %1)").arg(path), 8000);
        } catch (const Error& err) {
            QMessageBox::warning(this, tr("Save experiment"), QString::fromUtf8(err.what()));
        }
    });
    connect(open, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open experiment"), QString(),
                                                          tr("Experiment (*.json)"));
        if (!path.isEmpty()) {
            openExperiment(path);
        }
    });
    datasetTimer_ = new QTimer(this);
    datasetTimer_->setSingleShot(true);
    datasetTimer_->setInterval(400);
    connect(datasetTimer_, &QTimer::timeout, this, &MainWindow::refreshDatasetInfo);
    connect(form_, &ExperimentForm::changed, this, [this] {
        auto e = form_->experiment();
        setupError_->setText(e ? QString() : form_->error());
        if (e) {
            showPlannedTasks(e->sequence.tasks);
        }
        datasetTimer_->start();  // the backbone's description refreshes with the dataset's
        updateButtons();
    });
    box->setMinimumWidth(360);
    box->setAcceptDrops(true);
    box->installEventFilter(this);
    box->setToolTip(tr("Drop a dataset folder here"));
    setupBox_ = box;
    return box;
}

bool MainWindow::openExperiment(const QString& path) {
    try {
        form_->setExperiment(loadExperimentFile(path.toStdString()));
        statusBar()->showMessage(tr("Opened %1").arg(path), 5000);
        return true;
    } catch (const Error& err) {
        setupError_->setText(shownText(err.what()));
        return false;
    }
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
    if (watched == setupBox_ &&
        (event->type() == QEvent::DragEnter || event->type() == QEvent::Drop)) {
        auto* drop = static_cast<QDropEvent*>(event);
        QString folder;
        for (const auto& url : drop->mimeData()->urls()) {
            if (url.isLocalFile() && QFileInfo(url.toLocalFile()).isDir()) {
                folder = url.toLocalFile();
            }
        }
        if (folder.isEmpty()) {
            return false;
        }
        drop->acceptProposedAction();
        if (event->type() == QEvent::Drop) {
            useDatasetFolder(folder);
        }
        return true;
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::useDatasetFolder(const QString& folder) {
    const QDir dir(folder);
    QString kind = QStringLiteral("image-folder");
    if (dir.exists(QStringLiteral("train.bin")) && dir.exists(QStringLiteral("test.bin"))) {
        kind = QStringLiteral("cifar100");
    } else if (!dir.entryList({QStringLiteral("*idx3-ubyte*")}, QDir::Files).isEmpty()) {
        kind = QStringLiteral("fashion-mnist");
    } else if (!dir.entryList({QStringLiteral("*_train.txt")}, QDir::Files).isEmpty()) {
        kind = QStringLiteral("file-list");  // DomainNet's clipart_train.txt, ... (#16)
    }
    form_->setString("data.kind", kind);
    form_->setString("data.root", folder);
    statusBar()->showMessage(tr("Dataset: %1 (%2); scanning…").arg(folder, kind), 5000);
}

namespace {

struct DatasetText {
    QString html;     // counts, unreadable files, task chips
    QString tooltip;  // per-class counts and every unreadable file
};

// The task chips: "T3 · domain" in the task's colour, then its classes. A task of more than
// kChipNames classes lists the first ones and "+N more" (#17: every name of 100 classes filled
// the panel); the tooltip lists them all.
constexpr std::size_t kChipNames = 4;

QString taskChips(const Experiment& experiment,
                  const std::vector<std::vector<int64_t>>& tasks,
                  const std::vector<std::string>& classNames) {
    QString html;
    const auto& domains = experiment.sequence.domains;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        const std::size_t listed = tasks[t].size() > kChipNames ? kChipNames - 1 : tasks[t].size();
        QStringList names;
        for (std::size_t k = 0; k < listed; ++k) {
            names << htmlText(shownText(classNames.at(static_cast<std::size_t>(tasks[t][k]))));
        }
        if (listed < tasks[t].size()) {
            names << QObject::tr("+%1 more").arg(tasks[t].size() - listed);
        }
        html +=
            QStringLiteral(
                "<span style='background:%1;color:white;white-space:nowrap'>&nbsp;T%2%3"
                "&nbsp;</span> %4 &nbsp; ")
                .arg(okabeIto(static_cast<int>(t)).name())
                .arg(t + 1)
                .arg(t < domains.size()
                         ? QStringLiteral(" · %1").arg(htmlText(QString::fromStdString(domains[t])))
                         : QString())
                .arg(names.join(QStringLiteral(", ")));
    }
    return html;
}

// Scans the experiment's dataset (any thread) and describes it for the setup panel.
DatasetText describeDataset(const Experiment& experiment, const ScanProgress& progress) {
    DatasetText out;
    try {
        const std::filesystem::path root = experiment.data.root.empty()
                                               ? defaultDataRoot(experiment.data.kind)
                                               : std::filesystem::path(experiment.data.root);
        const DatasetSummary s =
            scanDataset(experiment.data.kind, root, progress, experiment.data.domains);
        int64_t train = 0;
        int64_t test = 0;
        out.tooltip = QObject::tr("<b>%1</b><table>").arg(shownText(s.root));
        for (std::size_t c = 0; c < s.classNames.size(); ++c) {
            train += s.trainCounts[c];
            test += s.testCounts[c];
            out.tooltip += QStringLiteral(
                               "<tr><td>%1</td><td align=right>%2</td>"
                               "<td align=right>%3</td></tr>")
                               .arg(htmlText(shownText(s.classNames[c])))
                               .arg(s.trainCounts[c])
                               .arg(s.testCounts[c]);
        }
        out.tooltip += QStringLiteral("</table>");
        out.html = QObject::tr("%1 classes · %2 train · %3 test")
                       .arg(s.classNames.size())
                       .arg(QLocale().toString(static_cast<qlonglong>(train)))
                       .arg(QLocale().toString(static_cast<qlonglong>(test)));
        if (!s.domains.empty()) {
            QStringList domains;
            for (const auto& d : s.domains) {
                domains << shownText(d);
            }
            out.html +=
                QObject::tr(" · domains %1").arg(htmlText(domains.join(QStringLiteral(", "))));
        }
        if (!s.warnings.empty()) {
            out.html += QObject::tr(
                " · <span style='color:#D55E00'>%n unreadable file(s) "
                "skipped (hover for the list)</span>",
                nullptr, static_cast<int>(s.warnings.size()));
            out.tooltip += QObject::tr("<b>Skipped</b><br>");
            for (const auto& w : s.warnings) {
                out.tooltip += QStringLiteral("%1: %2<br>")
                                   .arg(htmlText(shownText(w.file)), htmlText(shownText(w.reason)));
            }
        }
        const auto tasks = taskClassSequence(experiment, static_cast<int64_t>(s.classNames.size()));
        out.html += QStringLiteral("<br>") + taskChips(experiment, tasks, s.classNames);
        out.tooltip += QObject::tr("<b>Tasks</b><br>");
        for (std::size_t t = 0; t < tasks.size(); ++t) {
            QStringList names;
            for (auto c : tasks[t]) {
                names << htmlText(shownText(s.classNames.at(static_cast<std::size_t>(c))));
            }
            out.tooltip += QStringLiteral("T%1: %2<br>").arg(t + 1).arg(names.join(", "));
        }
    } catch (const std::exception& err) {
        out.html = QStringLiteral("<span style='color:#D55E00'>%1</span>")
                       .arg(htmlText(QString::fromUtf8(err.what())));
    }
    return out;
}

}  // namespace

void MainWindow::refreshBackboneInfo(const Experiment& e) {
    const QString path = QString::fromStdString(
        e.backbone.path.empty() ? bundledBackbonePath().string() : e.backbone.path);
    if (path == describedBackbone_) {
        return;
    }
    describedBackbone_ = path;
    try {
        const BackboneInfo info = inspectBackbone(path.toStdString());
        const BackboneArch& a = info.arch;
        QString text = tr("<b>Backbone</b> %1: ViT %2×%2, %3 channel(s), patch %4, width %5, "
                          "depth %6, heads %7, %8 parameters")
                           .arg(htmlText(QFileInfo(path).fileName()))
                           .arg(a.imgSize)
                           .arg(a.inChans)
                           .arg(a.patchSize)
                           .arg(a.width)
                           .arg(a.depth)
                           .arg(a.heads)
                           .arg(QLocale().toString(static_cast<qlonglong>(info.parameters)));
        const auto it = info.metadata.find("pretrained_on");
        if (it != info.metadata.end()) {
            text += tr("; pre-trained on %1").arg(htmlText(QString::fromStdString(it->second)));
        }
        backboneInfo_->setText(text);
    } catch (const Error& err) {
        backboneInfo_->setText(QStringLiteral("<span style='color:#D55E00'>%1</span>")
                                   .arg(htmlText(QString::fromUtf8(err.what()))));
    }
}

void MainWindow::refreshDatasetInfo() {
    auto e = form_->experiment();
    if (!e) {
        datasetInfo_->clear();
        return;
    }
    refreshBackboneInfo(*e);  // reads the header only: quick on the GUI thread
    // A newer scan cancels an older one (through its progress callback) and wins the label.
    const int generation = ++*scanGeneration_;
    auto* watcher = new QFutureWatcher<DatasetText>(this);
    connect(watcher, &QFutureWatcher<DatasetText>::finished, this, [this, watcher, generation] {
        if (generation == scanGeneration_->load()) {
            datasetInfo_->setText(watcher->result().html);
            datasetInfo_->setToolTip(watcher->result().tooltip);
        }
        watcher->deleteLater();
    });
    QPointer<QLabel> label = datasetInfo_;
    std::shared_ptr<std::atomic<int>> current = scanGeneration_;
    auto progress = [label, current, generation](int64_t done, int64_t total) {
        if (done % 200 == 0 && total > 0) {
            QMetaObject::invokeMethod(label, [label, done, total] {
                if (label) {
                    label->setText(
                        QObject::tr("Scanning the dataset… %1 / %2 files").arg(done).arg(total));
                }
            });
        }
        return current->load() == generation;
    };
    watcher->setFuture(QtConcurrent::run(
        [experiment = *e, progress] { return describeDataset(experiment, progress); }));
}

}  // namespace dlw::ui
