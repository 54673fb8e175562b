#pragma once
// Data-parallel runs over several processes (#18, DESIGN §8): where a process stands in the
// process group, read from the variables that torchrun and other launchers set. Public, no
// LibTorch; the process group itself is util/collective.h.

#include <map>
#include <string>

namespace dlw {

// One process of a data-parallel run. The engine connects the ranks through a c10d TCPStore at
// masterAddr:masterPort (rank 0 serves it) and a process group: NCCL when the run's device is a
// CUDA device and this LibTorch has NCCL, Gloo otherwise.
struct DistributedOptions {
    int rank = 0;       // RANK: 0 .. worldSize − 1; rank 0 alone writes the run folder
    int worldSize = 1;  // WORLD_SIZE: processes in the run, over every machine
    int localRank = 0;  // LOCAL_RANK: on this machine; picks cuda:LOCAL_RANK for "device" cuda
    std::string masterAddr = "127.0.0.1";  // MASTER_ADDR: host of rank 0's store
    int masterPort = 29500;                // MASTER_PORT
    // DLW_DIST_TIMEOUT (seconds): how long a rank waits for the others, to connect and in each
    // collective, before it stops with an error naming the step (a dead rank is usually noticed
    // at once, by its closed connection).
    double timeoutSeconds = 300;
    // TORCHELASTIC_USE_AGENT_STORE=True: torchrun's own agent serves the store at
    // MASTER_ADDR:MASTER_PORT (recent PyTorch), so rank 0 connects to it instead of serving.
    bool agentStore = false;
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT and DLW_DIST_TIMEOUT from
// `environment` (name → value; absent names keep their defaults, except RANK and WORLD_SIZE,
// which are required). Throws dlw::Error naming the variable, its value and the range for a
// missing or malformed one (RANK ≥ WORLD_SIZE, a port outside 1-65535, ...).
DistributedOptions distributedOptionsFrom(const std::map<std::string, std::string>& environment);

// distributedOptionsFrom() over this process's environment variables.
DistributedOptions distributedOptionsFromEnvironment();

// A data-parallel run as a person starts it: what the window's "Run on several processes…"
// asks for.
struct LaunchPlan {
    std::string experimentFile;            // the saved experiment (the same path on every machine)
    std::string runDir;                    // --out: written by rank 0, on rank 0's machine
    int machines = 1;                      // torchrun's --nnodes
    int processesPerMachine = 1;           // --nproc_per_node: one per GPU, or CPU processes
    std::string masterAddr = "127.0.0.1";  // rank 0's machine, when machines > 1
    int masterPort = 29500;
    std::string program = "dlw";  // the dlw program as the machines find it
};

// The command that starts `plan`, quoted for a POSIX shell:
//   one machine:  torchrun --standalone --nproc_per_node=N --no_python dlw run FILE
//                 --distributed --out DIR
//   several:      torchrun --nnodes=M --nproc_per_node=N --node_rank=$NODE_RANK
//                 --master_addr=HOST --master_port=PORT --no_python dlw run FILE
//                 --distributed --out DIR   (run on each machine with NODE_RANK 0 .. M-1)
// torchrun (PyTorch's launcher, 1.x and 2.x; the underscore spellings are the ones both take)
// sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for each process. Throws
// dlw::Error for a count below 1, a port outside 1-65535 or an empty file, folder or host.
std::string launchCommand(const LaunchPlan& plan);

// `text` as one word for a POSIX shell: unchanged when it is made of safe characters, else in
// single quotes ('\'' for a quote inside).
std::string shellWord(const std::string& text);

}  // namespace dlw
