#pragma once
// The queue of experiments and the past runs (DESIGN §7 "Queue"): one row per run with its state
// (queued / running x/T / done / stopped / failed with the reason). Rows reorder by drag (queued
// rows only move among themselves) or by moveEntry(). GUI thread only.

#include "api/experiment.h"
#include "ui/run_data.h"

#include <memory>
#include <vector>

#include <QAbstractListModel>

namespace dlw::ui {

struct QueueEntry {
    Experiment experiment;
    std::string runDir;  // empty until the run starts (then chosen under the runs folder)
    bool resume = false;
    std::shared_ptr<RunData> data = std::make_shared<RunData>();
};

class QueueModel : public QAbstractListModel {
    Q_OBJECT

public:
    static constexpr int kStateRole = Qt::UserRole + 1;

    using QAbstractListModel::QAbstractListModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    Qt::DropActions supportedDropActions() const override { return Qt::MoveAction; }
    QStringList mimeTypes() const override;
    QMimeData* mimeData(const QModelIndexList& indexes) const override;
    bool dropMimeData(const QMimeData* mime,
                      Qt::DropAction action,
                      int row,
                      int column,
                      const QModelIndex& parent) override;

    // What QListView calls for an internal move (one row at a time).
    bool moveRows(const QModelIndex& sourceParent,
                  int sourceRow,
                  int count,
                  const QModelIndex& destinationParent,
                  int destinationChild) override;

    int add(QueueEntry entry);  // at the end; returns its row
    // Moves row `from` to before row `to` (to == rowCount() moves it last). False when either is
    // out of range or the row is running.
    bool moveEntry(int from, int to);
    bool remove(int row);  // not while running
    QueueEntry& entry(int row) { return entries_.at(static_cast<std::size_t>(row)); }
    const QueueEntry& entry(int row) const { return entries_.at(static_cast<std::size_t>(row)); }
    // The first queued row, or -1.
    int nextQueued() const;
    int rowOf(const RunData* data) const;
    // Tells views that `row` changed (its RunData was updated).
    void refresh(int row);

    // One line: "duallora · running 3/5 · epoch 2/4", "seq-lora · failed: <reason>", ...
    static QString describe(const QueueEntry& entry);

private:
    std::vector<QueueEntry> entries_;
};

}  // namespace dlw::ui
