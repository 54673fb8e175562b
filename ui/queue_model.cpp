#include "ui/queue_model.h"

#include "ui/shown_text.h"

#include <QFileInfo>
#include <QIODevice>
#include <QMimeData>

namespace dlw::ui {
namespace {

const char* kRowsMime = "application/x-dlw-queue-rows";

}  // namespace

int QueueModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(entries_.size());
}

QString QueueModel::describe(const QueueEntry& e) {
    const RunData& d = *e.data;
    QString text = QString::fromStdString(d.label.empty() ? methodVariant(e.experiment) : d.label);
    if (e.experiment.name != "default") {
        text = shownText(e.experiment.name) + QStringLiteral(" · ") + text;
    }
    text += QStringLiteral(" · seed %1").arg(e.experiment.seed);
    if (!d.skipped.empty()) {  // the tooltip lists them
        text += QObject::tr(" · %n file(s) skipped", nullptr, static_cast<int>(d.skipped.size()));
    }
    switch (d.state) {
        case RunState::Queued:
            return text + QObject::tr(" · queued");
        case RunState::Running:
        case RunState::Stopping: {
            const QString what =
                d.state == RunState::Stopping ? QObject::tr("stopping…") : QObject::tr("running");
            if (d.currentTask < 0) {
                return text + QStringLiteral(" · ") + what;
            }
            return text + QObject::tr(" · %1 task %2/%3 · epoch %4/%5")
                              .arg(what)
                              .arg(d.currentTask + 1)
                              .arg(d.tasks)
                              .arg(d.currentEpoch + 1)
                              .arg(d.epochs);
        }
        case RunState::Done:
            return text +
                   QObject::tr(" · done · A_T %1 %")
                       .arg(decimalText(d.summary ? d.summary->metrics.finalAccuracy : 0.0, 1));
        case RunState::Stopped:
            return text + QObject::tr(" · stopped after %1/%2 tasks (resumable)")
                              .arg(d.evaluations.size())
                              .arg(d.tasks);
        case RunState::Failed:
            return text + QObject::tr(" · failed: %1").arg(shownText(d.error));
    }
    return text;
}

QVariant QueueModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) {
        return {};
    }
    const QueueEntry& e = entry(index.row());
    switch (role) {
        case Qt::DisplayRole:
            return describe(e);
        case Qt::ToolTipRole: {
            QString tip = e.runDir.empty() ? QObject::tr("not started yet") : shownText(e.runDir);
            constexpr std::size_t kShown = 20;  // the rest are in the run's events.jsonl
            for (std::size_t i = 0; i < e.data->skipped.size() && i < kShown; ++i) {
                const auto& w = e.data->skipped[i];
                tip += QStringLiteral("\n") +
                       QObject::tr("skipped %1: %2").arg(shownText(w.file), shownText(w.reason));
            }
            if (e.data->skipped.size() > kShown) {
                tip += QStringLiteral("\n") + QObject::tr("… and %1 more (events.jsonl)")
                                                  .arg(e.data->skipped.size() - kShown);
            }
            if (!e.data->error.empty()) {
                tip +=
                    QStringLiteral("\n") + QObject::tr("failed: %1").arg(shownText(e.data->error));
            }
            for (const auto& w : e.data->warnings) {
                tip += QStringLiteral("\n") + QObject::tr("warning: %1").arg(shownText(w));
            }
            return tip;
        }
        case kStateRole:
            return static_cast<int>(e.data->state);
        default:
            return {};
    }
}

Qt::ItemFlags QueueModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags f = QAbstractListModel::flags(index);
    if (!index.isValid()) {
        return f | Qt::ItemIsDropEnabled;  // drops between rows
    }
    if (entry(index.row()).data->state == RunState::Queued) {
        f |= Qt::ItemIsDragEnabled;
    }
    return f;
}

QStringList QueueModel::mimeTypes() const {
    return {QString::fromLatin1(kRowsMime)};
}

QMimeData* QueueModel::mimeData(const QModelIndexList& indexes) const {
    if (indexes.isEmpty()) {
        return nullptr;
    }
    auto* mime = new QMimeData;
    mime->setData(QString::fromLatin1(kRowsMime), QByteArray::number(indexes.first().row()));
    return mime;
}

bool QueueModel::dropMimeData(const QMimeData* mime,
                              Qt::DropAction action,
                              int row,
                              int /*column*/,
                              const QModelIndex& parent) {
    if (action != Qt::MoveAction || !mime->hasFormat(QString::fromLatin1(kRowsMime))) {
        return false;
    }
    const int from = mime->data(QString::fromLatin1(kRowsMime)).toInt();
    const int to = row >= 0 ? row : parent.isValid() ? parent.row() : rowCount();
    moveEntry(from, to);
    return false;  // moved here; the view must not remove the source row
}

bool QueueModel::moveRows(const QModelIndex& sourceParent,
                          int sourceRow,
                          int count,
                          const QModelIndex& destinationParent,
                          int destinationChild) {
    if (count != 1 || sourceParent.isValid() || destinationParent.isValid()) {
        return false;
    }
    return moveEntry(sourceRow, destinationChild);
}

int QueueModel::add(QueueEntry entry) {
    const int row = rowCount();
    beginInsertRows({}, row, row);
    entries_.push_back(std::move(entry));
    endInsertRows();
    return row;
}

bool QueueModel::moveEntry(int from, int to) {
    const int n = rowCount();
    if (from < 0 || from >= n || to < 0 || to > n || to == from || to == from + 1) {
        return false;
    }
    if (entry(from).data->state == RunState::Running ||
        entry(from).data->state == RunState::Stopping) {
        return false;
    }
    beginMoveRows({}, from, from, {}, to);
    auto moving = std::move(entries_[static_cast<std::size_t>(from)]);
    entries_.erase(entries_.begin() + from);
    entries_.insert(entries_.begin() + (to > from ? to - 1 : to), std::move(moving));
    endMoveRows();
    return true;
}

bool QueueModel::remove(int row) {
    if (row < 0 || row >= rowCount()) {
        return false;
    }
    const RunState s = entry(row).data->state;
    if (s == RunState::Running || s == RunState::Stopping) {
        return false;
    }
    beginRemoveRows({}, row, row);
    entries_.erase(entries_.begin() + row);
    endRemoveRows();
    return true;
}

int QueueModel::nextQueued() const {
    for (int i = 0; i < rowCount(); ++i) {
        if (entry(i).data->state == RunState::Queued) {
            return i;
        }
    }
    return -1;
}

int QueueModel::rowOf(const RunData* data) const {
    for (int i = 0; i < rowCount(); ++i) {
        if (entry(i).data.get() == data) {
            return i;
        }
    }
    return -1;
}

void QueueModel::refresh(int row) {
    if (row >= 0 && row < rowCount()) {
        emit dataChanged(index(row), index(row));
    }
}

}  // namespace dlw::ui
