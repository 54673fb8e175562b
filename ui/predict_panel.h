#pragma once
// The prediction panel (DESIGN §7 "Predict"): drop, paste or pick image files; each gets a card
// with the image, the top-5 classes raw vs calibrated, the predicted task with its confidence and
// every task's posterior. A slider picks the model "after task k" among the run's checkpoints.
// Prediction runs off the GUI thread and never blocks it: images dropped while one prediction
// runs wait as the next request (a newer drop replaces a waiting one, and the results of a
// request overtaken that way are not shown). The loaded model is kept while the run, the chosen
// task and its checkpoint file stay the same, so a drop costs the images' forward pass, not a
// checkpoint load (about a second for a ViT-B/16 run). A file that is not an image gets its
// message in its card.

#include "api/predictor.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <QFutureWatcher>
#include <QWidget>

class QLabel;
class QSlider;
class QVBoxLayout;

namespace dlw::ui {

class PredictPanel : public QWidget {
    Q_OBJECT

public:
    explicit PredictPanel(QWidget* parent = nullptr);

    // The run whose checkpoints predict; "" = none. Keeps the chosen task when still available.
    void setRun(const QString& runDir);
    // Predicts `files` with the chosen model: returns at once, predictionsShown() follows. While
    // another prediction runs, `files` wait for it (replacing any request already waiting).
    void predictFiles(const QStringList& files);
    int afterTask() const;
    // The cards' results, in the order shown (tests).
    const std::vector<ImagePrediction>& results() const { return results_; }
    // A prediction is running: from predictFiles() until its cards are shown (tests).
    bool busy() const { return running_; }
    // How many times a model was loaded from a checkpoint (tests: drops reuse the loaded one).
    int modelLoads() const { return modelLoads_; }
    // Shows `results` as cards, as a finished prediction does (tests; the layout of cards).
    void showResults(const std::vector<ImagePrediction>& results, const QString& problem = {});

signals:
    void predictionsShown();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    // What one prediction needs and gives back; the model travels to the worker and back.
    struct Request {
        QStringList files;
        std::string run;
        int after = 0;
        std::string modelKey;  // run, task and the checkpoint's size and time: reuse the model?
    };
    struct Outcome {
        std::vector<ImagePrediction> results;
        QString problem;
        std::shared_ptr<Predictor> model;  // loaded (or reused) for modelKey
        std::string modelKey;
        bool loaded = false;  // a checkpoint was read for this request
    };

    void start(Request request);
    void finish();
    void refreshTasks();

    QString runDir_;
    QStringList lastFiles_;
    QLabel* dropZone_;
    QLabel* status_;
    QSlider* slider_;
    QLabel* sliderLabel_;
    QVBoxLayout* cards_;
    std::vector<ImagePrediction> results_;
    std::vector<int> tasks_;
    std::optional<Request> waiting_;    // dropped while a prediction ran
    std::shared_ptr<Predictor> model_;  // the loaded model, never used by two threads at once
    std::string modelKey_;
    int modelLoads_ = 0;
    bool running_ = false;  // until finish() ran on the GUI thread, not until the worker ended
    QFutureWatcher<Outcome> watcher_;
};

}  // namespace dlw::ui
