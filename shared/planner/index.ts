// The partition planner's public surface (docs/planner.md).
export { planPartition, requirePlan } from './plan-partition.ts';
export { checkPlan } from './check-plan.ts';
export { layerOwners, movedLayers, stageOf, type Plan, type PlanOptions, type PlanResult, type PlanStage, type Seeder, type SeederReason } from './plan.ts';
export { memberWeight, type Member } from './member.ts';
export { isTrusted, tokenExposure, type TokenExposure } from './roles.ts';
export { layerCostBytes, modelShapeFromManifest, stageBytes, totalModelBytes, KV_BYTES_PER_ELEMENT, type ModelShape } from './model-shape.ts';
export { DuplicateMemberError, InsufficientMemoryError, InvalidPlanError, InvalidPlanInputError } from './errors.ts';
export { planRoom } from './plan-room.ts';
export { checkRoomPlan, previousRings, type ReplicaRing, type RoomPlan, type RoomPlanOptions, type RoomPlanResult } from './room-plan.ts';
export { expectedMsPerToken } from './latency-cost.ts';
export { DEFAULT_RTT_MS, type RttSample } from './rtt.ts';
