// The report of a set of runs (dlw report, File > Export report...) and the window's Compare runs.
#include "ui/report.h"

#include "api/engine.h"
#include "api/error.h"
#include "core/engine/engine_test_support.h"
#include "test_support.h"
#include "ui/compare_view.h"
#include "ui/main_window.h"
#include "ui/queue_policy.h"
#include "ui/ui_test_support.h"

#include <algorithm>
#include <cstdlib>

#include <QFile>
#include <QTextDocument>

#include <gtest/gtest.h>

namespace dlw::ui {
namespace {

// #17: the report of a set of runs, one self-contained HTML file: two seeds of one experiment
// and another method, a folder that is not a run; the comparison with mean ± SD and its LaTeX,
// what differs, where they ran, the plots as embedded PNG, every split and experiment file.
// DLW_UI_REPORT=FILE.html keeps the report to look at.
TEST(Report, OneFileHoldsTheComparisonPlotsAndWhereEachRan) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto root = test::tempDir("ui") / "report";
    Experiment second = small();
    second.seed = 1;
    Experiment other = small();
    other.method.name = MethodKind::SeqLora;
    RunControl control;
    test::run(second, root / "seed1", control);
    test::run(other, root / "seq-lora", control);
    std::filesystem::create_directories(root / "not-a-run");
    QStringList problems;
    const auto dirs = expandRunFolders(
        {finishedRun().string(), root.string(), (root / "nowhere").string()}, &problems);
    ASSERT_EQ(dirs.size(), 3U);  // the finished run, then root's two runs by name
    EXPECT_EQ(problems.size(), 1);
    EXPECT_TRUE(problems.front().contains("nowhere")) << problems.front().toStdString();

    const char* kept = std::getenv("DLW_UI_REPORT");
    const QString file = kept != nullptr ? QString::fromUtf8(kept)
                                         : QString::fromStdString((root / "report.html").string());
    auto withBroken = dirs;
    withBroken.push_back((root / "not-a-run").string());
    const ReportResult result = writeReport(withBroken, file);
    EXPECT_EQ(result.runs, 3);
    ASSERT_EQ(result.problems.size(), 1);
    EXPECT_TRUE(result.problems.front().contains("not-a-run"));
    QFile in(file);
    ASSERT_TRUE(in.open(QIODevice::ReadOnly));
    const QString html = QString::fromUtf8(in.readAll());
    EXPECT_EQ(result.bytes, in.size());
    EXPECT_TRUE(html.contains(QStringLiteral("<td class=l>duallora</td><td>2</td>")))
        << "the two seeds are one row";
    EXPECT_TRUE(html.contains(QStringLiteral("<td class=l>seq-lora</td><td>1</td>")));
    EXPECT_TRUE(html.contains(QStringLiteral("\\toprule")) && html.contains("$\\pm$"));
    EXPECT_TRUE(html.contains(QStringLiteral("<code>seed</code>")));  // what differs
    EXPECT_TRUE(html.contains(QStringLiteral("<code>method.name</code>")));
    EXPECT_FALSE(html.contains(QStringLiteral("<code>train.lr</code>")));  // the same in all
    EXPECT_TRUE(html.contains(QStringLiteral("dlw " DLW_VERSION)));        // where they ran
    EXPECT_GE(html.count(QStringLiteral("src=\"data:image/png;base64,")), 3 + 3 * 5);
    EXPECT_EQ(html.count(QStringLiteral("<summary>Split:")), 3);
    EXPECT_EQ(html.count(QStringLiteral("<summary>Experiment file")), 3);
    EXPECT_FALSE(html.contains(QStringLiteral("src=\"http")));        // opens offline
    EXPECT_TRUE(result.latex.contains(QStringLiteral("\\textbf{")));  // the best in bold

    EXPECT_THROW(writeReport({(root / "not-a-run").string()}, file), Error);

    // File > Export report… writes the focused run and every run of its sequence, all seeds.
    WindowOptions options;
    options.runsFolder = QString::fromStdString(root.string());
    MainWindow window(options);
    ASSERT_EQ(window.queue().rowCount(), 2);  // seed1 and seq-lora; not-a-run is not listed
    window.selectRow(0);
    auto reported = window.reportedRuns();
    std::sort(reported.begin(), reported.end());
    EXPECT_EQ(reported, (std::vector<std::string>{dirs[1], dirs[2]}));

    // The window's "Compare runs…": only the keys that differ between the checked runs.
    QueueModel queue;
    for (const auto& dir : dirs) {
        queue.add(QueuePolicy::readPastRun(dir));
    }
    CompareDialog compare(queue, {dirs[0], dirs[1]});
    EXPECT_EQ(compare.checkedRuns().size(), 2U);
    const auto shown = [&compare] {
        QTextDocument document;
        document.setHtml(compare.shownHtml());
        return document.toPlainText();
    };
    EXPECT_TRUE(shown().contains(QStringLiteral("seed"))) << shown().toStdString();
    EXPECT_FALSE(shown().contains(QStringLiteral("method.name")));
    compare.setChecked(dirs[2], true);  // the seq-lora run
    EXPECT_TRUE(shown().contains(QStringLiteral("method.name"))) << shown().toStdString();
}

}  // namespace
}  // namespace dlw::ui
