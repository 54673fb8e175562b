#pragma once
// The prediction panel (DESIGN §7 "Predict"): drop, paste or pick image files; each gets a card
// with the image, the top-5 classes raw vs calibrated, the predicted task with its confidence and
// every task's posterior. A slider picks the model "after task k" among the run's checkpoints.
// Prediction runs off the GUI thread; a file that is not an image gets its message in its card.

#include "api/predictor.h"

#include <memory>
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
    // Predicts `files` with the chosen model (asynchronously; predictionsShown() follows).
    void predictFiles(const QStringList& files);
    int afterTask() const;
    // The cards' results, in the order shown (tests).
    const std::vector<ImagePrediction>& results() const { return results_; }

signals:
    void predictionsShown();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    void showResults(const std::vector<ImagePrediction>& results, const QString& problem);
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
    QFutureWatcher<std::pair<std::vector<ImagePrediction>, QString>> watcher_;
};

}  // namespace dlw::ui
