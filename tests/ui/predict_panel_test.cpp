// The prediction panel: drops and pastes, queued drops and the kept model, cards that fit the
// panel, the unfamiliar mark.
#include "ui/predict_panel.h"

#include "api/engine.h"
#include "core/engine/engine_test_support.h"
#include "test_support.h"
#include "ui/ui_test_support.h"

#include <algorithm>
#include <cstdlib>
#include <random>

#include <QApplication>
#include <QImage>
#include <QLabel>
#include <QMimeData>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QTextDocument>
#include <QUrl>

#include <gtest/gtest.h>

namespace dlw::ui {
namespace {

TEST(PredictPanel, DroppedImagesArePredictedAndANonImageGetsItsMessage) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    PredictPanel panel;
    panel.setRun(QString::fromStdString(finishedRun().string()));
    EXPECT_EQ(panel.afterTask(), 3);
    const auto images = test::fixturesDir() / "images";
    QMimeData mime;
    mime.setUrls(
        {QUrl::fromLocalFile(QString::fromStdString((images / "shirt_like.png").string())),
         QUrl::fromLocalFile(QString::fromStdString((images / "not_an_image.png").string()))});
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    bool shown = false;
    QObject::connect(&panel, &PredictPanel::predictionsShown, [&] { shown = true; });
    // Delivered straight to the widget's event handler: QApplication filters drops that no drag
    // of its own started, and an offscreen test has no drag source.
    static_cast<QObject&>(panel).event(&drop);
    EXPECT_TRUE(drop.isAccepted());
    ASSERT_TRUE(waitFor([&] { return shown; }, 20000));
    ASSERT_EQ(panel.results().size(), 2U);
    EXPECT_TRUE(panel.results()[0].error.empty());
    EXPECT_EQ(panel.results()[0].top.size(), 5U);
    EXPECT_EQ(panel.results()[0].taskPosterior.size(), 3U);
    EXPECT_NE(panel.results()[1].error.find("not_an_image.png"), std::string::npos);
}

// #17: a drop while a prediction runs used to wait for it on the GUI thread, and every drop
// loaded the model from its checkpoint again. Now the later drop waits as the next request
// (predictFiles returns at once), a request overtaken by it is not shown, and the loaded model
// serves every drop until another task's model is chosen.
TEST(PredictPanel, ADropWhileOneRunsWaitsAndTheLoadedModelIsKept) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto images = test::fixturesDir() / "images";
    const QString shirt = QString::fromStdString((images / "shirt_like.png").string());
    const QString colour = QString::fromStdString((images / "colour.jpg").string());
    PredictPanel panel;
    panel.setRun(QString::fromStdString(finishedRun().string()));
    int shown = 0;
    QObject::connect(&panel, &PredictPanel::predictionsShown, [&] { ++shown; });
    panel.predictFiles({shirt});
    EXPECT_TRUE(panel.busy());
    panel.predictFiles({shirt, shirt, shirt});  // overtaken by the next drop: never shown
    panel.predictFiles({colour, shirt});
    EXPECT_TRUE(panel.busy());
    ASSERT_TRUE(waitFor([&] { return !panel.busy(); }, 30000));
    EXPECT_EQ(shown, 1);
    ASSERT_EQ(panel.results().size(), 2U);
    EXPECT_EQ(panel.results()[0].file, colour.toStdString());
    EXPECT_TRUE(panel.results()[0].error.empty()) << panel.results()[0].error;
    EXPECT_EQ(panel.modelLoads(), 1);

    panel.setRun(QString::fromStdString(finishedRun().string()));  // the same run again
    panel.predictFiles({shirt});
    ASSERT_TRUE(waitFor([&] { return !panel.busy(); }, 30000));
    EXPECT_EQ(panel.modelLoads(), 1);
    EXPECT_EQ(shown, 2);

    auto* slider = panel.findChild<QSlider*>();  // the model after task 1: another checkpoint
    ASSERT_NE(slider, nullptr);
    slider->setValue(0);
    EXPECT_EQ(panel.afterTask(), 1);
    ASSERT_TRUE(waitFor([&] { return !panel.busy(); }, 30000));
    EXPECT_EQ(panel.modelLoads(), 2);
    ASSERT_EQ(panel.results().size(), 1U);
    EXPECT_EQ(panel.results()[0].taskPosterior.size(), 1U);  // one task learned by then
}

// #17: at the window's size (1600 × 1000, a panel 330-360 px wide) the raw column was cut off
// behind a horizontal scroll bar and "%" wrapped onto its own line. Every card's text must fit
// its label's width, with long class names and 20 tasks (the task list summarised).
TEST(PredictPanel, CardsFitThePanelWidthWithLongNamesAndManyTasks) {
    std::vector<ImagePrediction> results(2);
    for (std::size_t i = 0; i < results.size(); ++i) {
        auto& p = results[i];
        p.file = "/data/photos/a-photo-of-a-dog-" + std::to_string(i) + ".jpg";
        p.hasTaskIdentity = true;
        p.taskPosterior.assign(20, 0.2 / 19);
        p.taskPosterior[7] = 0.8;
        p.predictedTask = 7;
        p.taskConfidence = 0.8;
        p.oodScore = i == 0 ? 0.4 : 3.2;
        p.unfamiliar = i == 1;
        for (const std::string name : {"West Highland white terrier", "aquarium_fish", "sale 100%2",
                                       "sweet_pepper", "Staffordshire bull terrier"}) {
            ClassProbability c;
            c.name = name;
            c.task = 7;
            c.raw = 0.123;
            c.calibrated = 0.716;
            p.top.push_back(c);
        }
    }
    PredictPanel panel;
    panel.resize(330, 1000);
    panel.show();
    panel.showResults(results);
    waitFor([] { return false; }, 300);  // layouts that depend on width settle in a few passes
    for (auto* scroll : panel.findChildren<QScrollArea*>()) {
        EXPECT_FALSE(scroll->horizontalScrollBar()->isVisible());
    }
    int checked = 0;
    for (const auto* label : panel.findChildren<QLabel*>()) {
        if (!label->text().contains(QStringLiteral("terrier"))) {
            continue;
        }
        ++checked;
        EXPECT_TRUE(label->text().contains(QStringLiteral("15 more task(s)")));
        QTextDocument document;  // the label's text laid out at the label's width, as QLabel does
        document.setDocumentMargin(0);
        document.setDefaultFont(label->font());
        document.setHtml(label->text());
        document.setTextWidth(label->contentsRect().width());
        EXPECT_LE(document.idealWidth(), label->contentsRect().width() + 0.5)
            << "a card's text is wider than its label";
        // A name's "%2" is text, not a placeholder of the card's later arguments.
        EXPECT_TRUE(document.toPlainText().contains(QStringLiteral("sale 100%2")))
            << document.toPlainText().toStdString();
        EXPECT_GE(label->contentsRect().height() + 0.5, document.size().height())
            << "a card's text is taller than its label: its last rows are cut off";
    }
    EXPECT_EQ(checked, 2);
    if (const char* shot = std::getenv("DLW_UI_CARDS_SCREENSHOT")) {
        EXPECT_TRUE(panel.grab().save(QString::fromUtf8(shot)));
    }
}

// #16: an image unlike every learned class is marked on its card (the word "Unfamiliar", an
// orange frame), a familiar one is not. The bundled backbone: noise is far from Fashion-MNIST's
// classes in its features. DLW_UI_SCREENSHOT=FILE.png saves the panel as a user sees it.
TEST(PredictPanel, AnUnfamiliarImageIsMarkedOnItsCard) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    Experiment e = small();
    e.backbone.path = "";  // the bundled dlw-vit-tiny
    e.data.trainPerClass = 200;
    e.data.valPerClass = 50;
    e.train.epochs = 1;
    e.train.batchSize = 32;
    e.memory.sample = 0;  // the familiarity memory from every training image, not 40 per task
    const auto dir = test::tempDir("ui") / "ood";
    RunControl control;
    test::run(e, dir / "run", control);
    QImage noise(28, 28, QImage::Format_Grayscale8);  // uniform noise, seeded
    std::mt19937 random(3);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int y = 0; y < 28; ++y) {
        for (int x = 0; x < 28; ++x) {
            noise.scanLine(y)[x] = static_cast<uchar>(byte(random));
        }
    }
    const QString noisy = QString::fromStdString((dir / "noise.png").string());
    ASSERT_TRUE(noise.save(noisy));
    const QString shirt =
        QString::fromStdString((test::fixturesDir() / "images" / "shirt_like.png").string());

    PredictPanel panel;
    panel.resize(420, 900);
    panel.setRun(QString::fromStdString((dir / "run").string()));
    bool shown = false;
    QObject::connect(&panel, &PredictPanel::predictionsShown, [&] { shown = true; });
    panel.predictFiles({noisy, shirt});
    ASSERT_TRUE(waitFor([&] { return shown; }, 20000));
    ASSERT_EQ(panel.results().size(), 2U);
    EXPECT_TRUE(panel.results()[0].unfamiliar) << panel.results()[0].oodScore.value_or(-1);
    const auto cards = panel.findChildren<QWidget*>(QStringLiteral("unfamiliarCard"));
    int flagged = 0;
    for (const auto& r : panel.results()) {
        flagged += r.unfamiliar ? 1 : 0;
    }
    EXPECT_EQ(static_cast<int>(cards.size()), flagged);
    ASSERT_FALSE(cards.empty());
    const auto labels = cards.front()->findChildren<QLabel*>();
    EXPECT_TRUE(std::any_of(labels.begin(), labels.end(),
                            [](const QLabel* l) { return l->text().contains("Unfamiliar"); }));
    if (const char* shot = std::getenv("DLW_UI_SCREENSHOT")) {
        panel.show();
        QApplication::processEvents();
        EXPECT_TRUE(panel.grab().save(QString::fromUtf8(shot)));
    }
}

}  // namespace
}  // namespace dlw::ui
