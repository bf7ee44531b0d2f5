-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "posts" (
    "id" TEXT NOT NULL,
    "author_id" TEXT NOT NULL,
    "author_username" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "idempotency_key" TEXT,

    CONSTRAINT "posts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "posts_author_id_created_at_id_idx" ON "posts"("author_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "posts_created_at_id_idx" ON "posts"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "posts_author_id_idempotency_key_key" ON "posts"("author_id", "idempotency_key");

-- Full-text search (hand-written: Prisma cannot express an expression index). The search query must use the same
-- expression, to_tsvector('english', text), for PostgreSQL to use this index.
CREATE INDEX posts_text_fts ON posts USING GIN (to_tsvector('english', text));
