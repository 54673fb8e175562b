// The queue's model and policy, and the experiment form's save/open round trip, without a run.
#include "api/experiment.h"
#include "api/run_folder.h"
#include "test_support.h"
#include "ui/experiment_form.h"
#include "ui/queue_model.h"
#include "ui/queue_policy.h"
#include "ui/ui_test_support.h"

#include <filesystem>

#include <gtest/gtest.h>

namespace dlw::ui {
namespace {

TEST(QueueModel, ReordersQueuedRowsAndDescribesStates) {
    QueueModel model;
    for (auto m : {MethodKind::DualLora, MethodKind::InfLora, MethodKind::Joint}) {
        QueueEntry entry;
        entry.experiment.method.name = m;
        model.add(std::move(entry));
    }
    EXPECT_TRUE(model.moveEntry(2, 0));  // joint first
    EXPECT_EQ(model.entry(0).experiment.method.name, MethodKind::Joint);
    EXPECT_EQ(model.entry(1).experiment.method.name, MethodKind::DualLora);
    EXPECT_TRUE(model.moveEntry(0, 3));  // and last again
    EXPECT_EQ(model.entry(2).experiment.method.name, MethodKind::Joint);
    // A drag of row 2 dropped before row 0, as the list view does it.
    std::unique_ptr<QMimeData> mime(model.mimeData({model.index(2)}));
    EXPECT_FALSE(model.dropMimeData(mime.get(), Qt::MoveAction, 0, 0, {}))
        << "the model moves the row itself; the view must not remove the source";
    EXPECT_EQ(model.entry(0).experiment.method.name, MethodKind::Joint);
    EXPECT_TRUE(model.moveRows({}, 0, 1, {}, 3));  // as QListView moves it back
    EXPECT_EQ(model.entry(2).experiment.method.name, MethodKind::Joint);
    model.entry(0).data->state = RunState::Running;
    EXPECT_FALSE(model.moveEntry(0, 2)) << "a running row stays where it is";
    EXPECT_FALSE(model.remove(0));
    EXPECT_EQ(model.nextQueued(), 1);
    model.entry(1).data->state = RunState::Failed;
    model.entry(1).data->error = "data.root: no such folder";
    EXPECT_TRUE(QueueModel::describe(model.entry(1)).contains("failed: data.root: no such folder"));
    // #14: a name that is not UTF-8 reads caf\xE9 in the window too (was U+FFFD).
    model.entry(1).data->error = "/data/caf\xe9: no such folder";
    EXPECT_TRUE(QueueModel::describe(model.entry(1)).contains("failed: /data/caf\\xE9: no such"))
        << QueueModel::describe(model.entry(1)).toStdString();
    EXPECT_TRUE(QueueModel::describe(model.entry(2)).endsWith("queued"));
    EXPECT_EQ(model.nextQueued(), 2);
    EXPECT_TRUE(model.remove(1));
    EXPECT_EQ(model.rowCount(), 2);
}

// #17: the queue's policy, without a window: the comparison set, halting, the request of a row
// (run folder, resume, the command line's threads), runs of the same sequence, and past runs
// read back with a broken folder listed as failed with why.
TEST(QueuePolicy, DecidesWhatRunsNextAndHowWithoutAWindow) {
    const auto folder = test::tempDir("ui") / "policy-runs";
    QueueModel queue;
    QueuePolicy policy(queue, QString::fromStdString(folder.string()), 2);
    Experiment e = small();
    e.method.gate = GateMode::Soft;
    const auto set = QueuePolicy::comparisonSet(e);
    ASSERT_EQ(set.size(), 6U);
    EXPECT_EQ(set[0].method.name, MethodKind::DualLora);
    EXPECT_EQ(set[0].method.gate, GateMode::Soft);
    EXPECT_EQ(set[3].method.name, MethodKind::RanPac);
    EXPECT_EQ(set[5].method.name, MethodKind::Joint);
    for (const auto& m : set) {
        EXPECT_EQ(QueuePolicy::sequenceKey(m), QueuePolicy::sequenceKey(e));
        EXPECT_EQ(m.method.gate == GateMode::Soft, m.method.name == MethodKind::DualLora);
    }
    Experiment otherSeed = e;
    otherSeed.seed = 1;
    EXPECT_NE(QueuePolicy::sequenceKey(otherSeed), QueuePolicy::sequenceKey(e));

    policy.enqueueComparison(e);
    const int lone = policy.enqueue(otherSeed);
    EXPECT_EQ(queue.rowCount(), 7);
    EXPECT_EQ(policy.next(), 0);
    EXPECT_EQ(policy.sameSequence(queue.entry(0).data.get()).size(), 6U);
    EXPECT_EQ(policy.sameSequence(queue.entry(lone).data.get()).size(), 1U);
    EXPECT_TRUE(policy.sameSequence(nullptr).empty());

    policy.halt();
    EXPECT_EQ(policy.next(), -1);
    EXPECT_FALSE(policy.continuesAfter(RunState::Done));
    policy.release();
    EXPECT_TRUE(policy.continuesAfter(RunState::Done));
    EXPECT_FALSE(policy.continuesAfter(RunState::Stopped));

    // Two rows of one experiment started in the same second get two folders; threads on auto
    // take the command line's count, an experiment's own count stays.
    const RunRequest first = policy.requestFor(0);
    queue.entry(1).experiment.threads = 3;
    const RunRequest second = policy.requestFor(1);
    EXPECT_NE(first.runDir, second.runDir);
    EXPECT_EQ(std::filesystem::path(first.runDir).parent_path(), folder);
    EXPECT_EQ(first.experiment.threads, 1);  // small() sets its own
    queue.entry(2).experiment.threads = 0;
    EXPECT_EQ(policy.requestFor(2).experiment.threads, 2);
    EXPECT_EQ(second.experiment.threads, 3);
    EXPECT_FALSE(first.resume);
    policy.markResume(0);
    EXPECT_EQ(queue.entry(0).data->state, RunState::Queued);
    EXPECT_TRUE(policy.requestFor(0).resume);
    EXPECT_FALSE(policy.requestFor(0).resume);  // once
    EXPECT_EQ(policy.requestFor(0).runDir, first.runDir);

    // A folder with events but an unreadable experiment: listed as failed, naming the file.
    const auto broken = folder / "broken-run";
    std::filesystem::create_directories(broken);
    test::writeBytes(broken / run_files::kEvents, "");
    test::writeBytes(broken / run_files::kExperiment, "{\"seed\": ");
    QueueModel past;
    QueuePolicy reader(past, QString::fromStdString(folder.string()));
    EXPECT_EQ(reader.loadPastRuns(), 1);
    ASSERT_EQ(past.rowCount(), 1);
    EXPECT_EQ(past.entry(0).data->state, RunState::Failed);
    EXPECT_NE(past.entry(0).data->error.find("experiment.json"), std::string::npos)
        << past.entry(0).data->error;
    EXPECT_EQ(reader.loadPastRuns(), 0);  // listed once
}

TEST(ExperimentForm, SaveAndOpenRoundTripAndErrorsNameTheKey) {
    ExperimentForm form;
    Experiment e = small();
    e.method.gate = GateMode::Soft;
    e.method.targets = {"q", "v", "fc1"};
    e.method.blocks = {1};
    e.sequence.classOrder = ClassOrder::Shuffle;
    e.train.lr = 3e-4;
    e.data.domains = {"clipart", "real"};  // #16: a list of names, shown as "clipart, real"
    form.setExperiment(e);
    auto back = form.experiment();
    ASSERT_TRUE(back.has_value()) << form.error().toStdString();
    EXPECT_EQ(toJsonText(*back), toJsonText(e));
    const auto file = test::tempDir("ui") / "saved.json";
    saveExperimentFile(*back, file);  // what "Save experiment…" writes
    form.setExperiment(preset("default"));
    form.setExperiment(loadExperimentFile(file));
    EXPECT_EQ(toJsonText(*form.experiment()), toJsonText(e));
    form.setValue("train.lr", "\"fast\"");
    EXPECT_FALSE(form.experiment().has_value());
    EXPECT_TRUE(form.error().contains("train.lr")) << form.error().toStdString();
}

}  // namespace
}  // namespace dlw::ui
