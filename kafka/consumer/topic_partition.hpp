#pragma once

// The vocabulary lives in kafka/client/ so that the consumer, producer and admin client share it.
#include "kafka/client/topic_partition.hpp"
