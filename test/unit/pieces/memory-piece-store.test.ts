import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import { runPieceStoreContract } from '../../contracts/piece-store.contract.ts';

runPieceStoreContract('MemoryPieceStore', async () => ({ store: new MemoryPieceStore() }));
